#!/usr/local/bin/node
// linkerd-await for the Trellis proxy image: the injector's postStart hook of a non-native sidecar runs
// `/usr/lib/linkerd/linkerd-await --timeout=2m --port=4191`, which holds the app container until the proxy's
// /ready answers 200. With a command after `--` it then runs that command (Linkerd's wrapper form).
import { spawn } from 'node:child_process';
import { get } from 'node:http';

const USAGE = 'usage: linkerd-await [--port=4191] [--timeout=2m] [-- command args...]\n';
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const flags = dash === -1 ? args : args.slice(0, dash);
const command = dash === -1 ? [] : args.slice(dash + 1);
let port = 4191;
let timeoutMs = 120_000;

for (const f of flags) {
  const [k, v = ''] = f.split('=', 2);
  if (k === '--help' || k === '-h') {
    process.stdout.write(USAGE);
    process.exit(0);
  } else if (k === '--port' && /^\d+$/.test(v)) port = Number(v);
  else if (k === '--timeout' && /^\d+(ms|s|m|h)$/.test(v)) {
    const n = Number.parseInt(v, 10);
    timeoutMs = n * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[v.replace(/^\d+/, '')];
  } else {
    process.stderr.write(`linkerd-await: bad flag ${f}\n${USAGE}`);
    process.exit(2);
  }
}

const ready = () =>
  new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/ready', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });

const deadline = Date.now() + timeoutMs;
while (!(await ready())) {
  if (Date.now() >= deadline) {
    process.stderr.write(`linkerd-await: the proxy on port ${port} was not ready within ${timeoutMs}ms\n`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 1_000));
}
if (command.length === 0) process.exit(0);
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
