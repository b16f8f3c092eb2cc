import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import { requestEvents } from '../viz/tap-events.fixture.ts';
import { runCli } from './root.ts';
import { tapTarget } from './viz-tap.ts';

async function trellis(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

describe('viz tap and viz top', () => {
  it('reads the resource as Linkerd does', () => {
    expect(tapTarget('deploy/web', 'emojivoto')).toEqual({ namespace: 'emojivoto', resource: 'deployments', name: 'web' });
    expect(tapTarget('ns/emojivoto', 'default')).toEqual({ namespace: 'emojivoto', resource: 'namespaces', name: '' });
    expect(() => tapTarget('deploy', 'x')).toThrow(/a deploy needs a name/);
    expect(() => tapTarget('svc/web', 'x')).toThrow(/invalid resource "svc\/web"/);
  });

  it('refuses bad flags before touching the cluster, naming them', async () => {
    expect(await trellis('viz', 'tap', 'deploy/web', '--max-rps', '0', '--kubeconfig', '/nonexistent')).toMatchObject({ code: 1 });
    const r = await trellis('viz', 'tap', 'deploy/web', '-o', 'yaml');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--output/);
    const t = await trellis('viz', 'top', 'deploy/web', '--interval', '10ms');
    expect(t.err).toMatch(/--interval: at least 100ms/);
  });

  it('prints a warning line on stderr naming a pod the tap API could not tap, and goes on printing the others\' requests', async () => {
    // A stand-in for the API server: the tap API's stream for deploy/web, whose second pod failed between requests.
    const events = requestEvents({ stream: 0, path: '/api/vote', latencyMs: 1.092 }).map((e) => JSON.stringify(tap.TapEvent.toJSON(e)));
    const warning = { kind: 'TapWarning', apiVersion: 'tap.linkerd.io/v1alpha1', namespace: 'emojivoto', pod: 'web-1', message: 'its proxy failed on the tap port 4190: connect ECONNREFUSED 10.244.0.13:4190' };
    let asked = '';
    const server = createServer((req, res) => {
      asked = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${events[0]}\n${JSON.stringify(warning)}\n${events[1]}\n${events[2]}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = await mkdtemp(join(tmpdir(), 'viz-tap-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const apiServer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await writeFile(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: apiServer, 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: {} }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'emojivoto' } }], 'current-context': 'x' }));
      const r = await trellis('viz', 'tap', 'deploy/web', '--kubeconfig', kubeconfig);
      expect(asked).toBe('/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap?maxRps=100');
      expect(r.err).toBe('Warning: pod emojivoto/web-1 is not tapped: its proxy failed on the tap port 4190: connect ECONNREFUSED 10.244.0.13:4190 (the tap goes on with the other pods)\n');
      expect(r.out.split('\n').map((l) => l.split(' ')[0])).toEqual(['req', 'rsp', 'end', '']);
      expect(r.code).toBe(0);
      const top = await trellis('viz', 'top', 'deploy/web', '--kubeconfig', kubeconfig, '--interval', '1s');
      expect(top.err).toBe(r.err);
      expect(top.out).toMatch(/\/api\/vote\s+1\s/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
