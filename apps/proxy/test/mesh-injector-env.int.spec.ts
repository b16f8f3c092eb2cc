// The environment the injector renders (libs/inject golden output, with the downward-API values filled in as
// the kubelet would) is accepted as is: the proxy config parses in meshed mode and the mesh starts from it.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseProxyConfig, type MeshConfig } from '../src/config.ts';
import { startMesh } from '../src/identity/mesh.ts';
import { createMeshPki } from './mesh-pki.ts';

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } };

const FIELDS: Record<string, string> = {
  'metadata.name': 'web-0',
  'metadata.namespace': 'default',
  'metadata.uid': '0b9a1c6e-0000-4000-8000-000000000001',
  'status.podIP': '10.42.0.7',
  'status.podIPs': '10.42.0.7,fd00::7',
  'spec.nodeName': 'node-1',
  'spec.serviceAccountName': 'web',
};

function findProxyEnv(o: unknown): EnvVar[] | undefined {
  if (Array.isArray(o)) {
    for (const v of o) {
      const r = findProxyEnv(v);
      if (r) return r;
    }
  } else if (o && typeof o === 'object') {
    const rec = o as Record<string, unknown>;
    if (rec['name'] === 'linkerd-proxy' && Array.isArray(rec['env'])) return rec['env'] as EnvVar[];
    for (const v of Object.values(rec)) {
      const r = findProxyEnv(v);
      if (r) return r;
    }
  }
  return undefined;
}

/** Resolves valueFrom.fieldRef and $(VAR) references in order, as the kubelet does. */
function render(vars: readonly EnvVar[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    const raw = v.valueFrom?.fieldRef?.fieldPath !== undefined ? (FIELDS[v.valueFrom.fieldRef.fieldPath] ?? '') : (v.value ?? '');
    env[v.name] = raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
  }
  return env;
}

describe('the injector-rendered proxy environment', () => {
  it('parses in meshed mode and starts the mesh (identity, discovery) without error', async () => {
    const golden = JSON.parse(await readFile(new URL('../../../libs/inject/testdata/golden/kind-pod.json', import.meta.url), 'utf8')) as unknown;
    const vars = findProxyEnv(golden);
    expect(vars?.length).toBeGreaterThan(20);
    const pki = await createMeshPki();
    const dir = await mkdtemp(join(tmpdir(), 'mesh-inject-'));
    await writeFile(join(dir, 'token'), 'tok');
    // Only what points at the real pod's filesystem and the real cluster's anchors is replaced.
    const env: Record<string, string> = {
      ...render(vars ?? []),
      LINKERD2_PROXY_IDENTITY_DIR: join(dir, 'end-entity'),
      LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: pki.trustAnchorsPem,
    };
    expect(env['LINKERD2_PROXY_IDENTITY_LOCAL_NAME']).toBe('web.default.serviceaccount.identity.trellis.cluster.local');
    const cfg = parseProxyConfig(env);
    expect(cfg.plaintext).toBe(false);
    expect(cfg.inboundIps).toEqual(['10.42.0.7', 'fd00::7']);
    expect(cfg.proxyName).toBe('web-0.default');
    const mesh = await startMesh(cfg.mesh as MeshConfig, { logger: pino({ level: 'silent' }), registry: new Registry(), localIps: cfg.inboundIps ?? [] });
    try {
      expect(mesh.isReady()).toBe(false);
      expect(mesh.tls.localName).toBeUndefined();
    } finally {
      mesh.close();
    }
  });
});
