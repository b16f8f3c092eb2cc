import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig.ts';

function kubeconfigWithCa(dir: string): string {
  writeFileSync(join(dir, 'ca.crt'), 'first CA');
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443", certificate-authority: ca.crt } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );
  return path;
}

async function dispatcherOf(kc: ReturnType<typeof loadKubeConfig>) {
  const ctx = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe('loadKubeConfig', () => {
  it('sends every request through one connection pool instead of a new one (and TLS handshake) per request', async () => {
    const kc = loadKubeConfig({ kubeconfig: kubeconfigWithCa(mkdtempSync(join(tmpdir(), 'trellis-kc-'))) });
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
    expect(await dispatcherOf(kc)).toBe(first);
  });

  it('opens a new pool when the TLS material on disk changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-kc-'));
    const kc = loadKubeConfig({ kubeconfig: kubeconfigWithCa(dir) });
    const first = await dispatcherOf(kc);
    writeFileSync(join(dir, 'ca.crt'), 'rotated CA');
    const second = await dispatcherOf(kc);
    expect(second).not.toBe(first);
    expect(await dispatcherOf(kc)).toBe(second);
  });
});
