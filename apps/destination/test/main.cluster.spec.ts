// The destination as a process: flags, a clean stop on SIGTERM (streams end with OK), clear errors.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { loadKubeConfig } from '@trellis/k8s';
import { DestinationClient } from '@trellis/proto';
import { credentials } from '@grpc/grpc-js';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { collect, createNamespace, createService, installCrds, until } from './harness.ts';

const MAIN = join(import.meta.dirname, '../src/main.ts');
const kubeconfig = inject('kubeconfig');

function start(args: string[]) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcessByStdio<null, Readable, Readable>;
  const out = { stdout: '', stderr: '', code: undefined as number | null | undefined };
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()));
  child.on('exit', (code) => (out.code = code));
  return { child, out };
}

describe('destination main', () => {
  beforeAll(async () => {
    await installCrds(loadKubeConfig({ kubeconfig }));
  });

  it('serves until SIGTERM, then ends open streams with OK and exits 0', async () => {
    const kc = loadKubeConfig({ kubeconfig });
    const ns = await createNamespace(kc, 'dst-main');
    await createService(kc, ns, 'web', [{ name: 'http', port: 80, targetPort: 80 }]);
    const { child, out } = start(['--kubeconfig', kubeconfig, '--addr', '127.0.0.1:0', '--policy-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0']);
    const serving = await until('serving log line', () => out.stdout.split('\n').find((l) => l.includes('"destination serving"')), 30_000);
    const ports = JSON.parse(serving) as { destination: number; admin: number };
    expect((await fetch(`http://127.0.0.1:${ports.admin}/ready`)).status).toBe(200);
    const client = new DestinationClient(`127.0.0.1:${ports.destination}`, credentials.createInsecure());
    const s = collect(client.get({ scheme: '', path: `web.${ns}.svc.cluster.local:80`, contextToken: '' }));
    // The Service has no endpoints, so nothing is sent: wait for the server to count the stream.
    const t0 = Date.now();
    while (!(await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text()).includes('destination_open_streams{api="destination.Get"} 1')) {
      if (Date.now() - t0 > 10_000) throw new Error('stream never opened');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    await until('stream ended', () => s.ended || s.error !== undefined, 10_000);
    expect(s.error).toBeUndefined();
    await until('process exited', () => out.code !== undefined, 10_000);
    expect(out.code).toBe(0);
    client.close();
  }, 60_000);

  it('exits 1 with a message naming the flag for bad configuration', async () => {
    for (const [args, message] of [
      [['--default-policy', 'allow-all'], 'invalid value "allow-all" for --default-policy'],
      [['--addr', 'nowhere'], 'invalid value "nowhere" for --addr'],
      [['--kubeconfig', '/nonexistent/kubeconfig'], '--kubeconfig: kubeconfig /nonexistent/kubeconfig does not exist'],
    ] as const) {
      const { out } = start([...args]);
      await until(`exit for ${args.join(' ')}`, () => out.code !== undefined, 20_000);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(message);
    }
  }, 60_000);

  it('exits 1 instead of hanging when a port is taken after the watches started', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as AddressInfo).port;
    try {
      const { out } = start(['--kubeconfig', kubeconfig, '--addr', `127.0.0.1:${port}`, '--policy-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0']);
      await until('exit', () => out.code !== undefined, 30_000);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`cannot listen on 127.0.0.1:${port} (--addr)`);
    } finally {
      taken.close();
    }
  }, 60_000);
});
