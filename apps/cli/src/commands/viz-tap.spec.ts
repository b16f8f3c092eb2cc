import { describe, expect, it } from 'vitest';
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
});
