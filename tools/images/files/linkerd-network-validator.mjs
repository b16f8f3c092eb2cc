#!/usr/local/bin/node
// linkerd2-network-validator for the Trellis proxy image: the init container the injector adds in CNI mode, in
// place of linkerd-init. It proves, before the app starts, that the node's CNI plugin redirected this pod's
// outbound TCP: it listens where the proxy's outbound port will be (--listen-addr), connects to an address that
// leads nowhere (--connect-addr), and expects that connection to arrive at its own listener carrying the token it
// made up. Running as an unprivileged uid (not the proxy's), its traffic is redirected like the app's. On failure
// it says why on stderr and in the termination message, which the pod's status and events show.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const USAGE = 'usage: linkerd2-network-validator [--connect-addr 1.1.1.1:20001] [--listen-addr 0.0.0.0:4140] [--timeout 10s] [--log-format plain|json] [--log-level LEVEL]\n';
const opts = { 'connect-addr': '1.1.1.1:20001', 'listen-addr': '0.0.0.0:4140', timeout: '10s', 'log-format': 'plain', 'log-level': 'info' };

function usage(message) {
  process.stderr.write(`linkerd2-network-validator: ${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const [flag, inline] = arg.split(/=(.*)/s, 2);
  const name = flag.replace(/^--/, '');
  if (!flag.startsWith('--') || !(name in opts)) usage(`unknown flag ${JSON.stringify(arg)}`);
  const value = inline ?? args[++i];
  if (value === undefined) usage(`${flag} needs a value`);
  opts[name] = value;
}

/** host:port or [v6]:port. */
function hostPort(flag) {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(opts[flag]) ?? /^([^:]+):(\d+)$/.exec(opts[flag]);
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536)) usage(`invalid value ${JSON.stringify(opts[flag])} for --${flag}: expected host:port or [v6]:port`);
  return { host: m[1], port };
}
const listen = hostPort('listen-addr');
const target = hostPort('connect-addr');
const t = /^(\d+)(ms|s|m)$/.exec(opts.timeout);
if (!t) usage(`invalid value ${JSON.stringify(opts.timeout)} for --timeout: expected a duration such as 10s`);
const timeoutMs = Number(t[1]) * { ms: 1, s: 1_000, m: 60_000 }[t[2]];
if (!['plain', 'json'].includes(opts['log-format'])) usage(`invalid value ${JSON.stringify(opts['log-format'])} for --log-format: expected plain or json`);

function log(level, msg) {
  const time = new Date().toISOString();
  const line = opts['log-format'] === 'json' ? JSON.stringify({ time, level, msg }) : `time="${time}" level=${level} msg="${msg}"`;
  process.stderr.write(`${line}\n`);
}

function fail(msg) {
  log('error', msg);
  try {
    // r+: only into the file the kubelet mounted, never a new one outside a container.
    writeFileSync('/dev/termination-log', msg, { flag: 'r+' });
  } catch {
    // Not in a container (or no termination log): stderr carries it.
  }
  process.exit(1);
}

const token = `${randomBytes(16).toString('hex')}\n`;
const server = createServer((socket) => {
  socket.on('error', () => undefined);
  socket.end(token);
});
server.on('error', (err) => fail(`cannot listen on ${opts['listen-addr']}: ${err.message}`));
server.listen(listen.port, listen.host, () => {
  log('debug', `listening on ${opts['listen-addr']}; connecting to ${opts['connect-addr']}`);
  const timer = setTimeout(
    () => fail(`outbound traffic is not redirected: the connection to ${opts['connect-addr']} did not reach ${opts['listen-addr']} within ${opts.timeout}; is the trellis-cni plugin installed and chained on this node?`),
    timeoutMs,
  );
  let got = '';
  const client = connect(target.port, target.host);
  client.setEncoding('utf8');
  client.on('data', (chunk) => (got += chunk));
  client.on('error', (err) =>
    fail(`outbound traffic is not redirected: the connection to ${opts['connect-addr']} failed (${err.code ?? err.message}) instead of reaching ${opts['listen-addr']}; is the trellis-cni plugin installed and chained on this node?`),
  );
  client.on('close', () => {
    if (got !== token) fail(`outbound traffic is not redirected: ${opts['connect-addr']} was answered by something other than this validator on ${opts['listen-addr']}`);
    clearTimeout(timer);
    log('info', `outbound traffic is redirected: ${opts['connect-addr']} reached ${opts['listen-addr']}`);
    server.close();
    process.exit(0);
  });
});
