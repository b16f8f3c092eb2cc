import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodVolumes, VolumeError, keyFiles, type VolumeApi } from './volumes.ts';
import type { KObject } from './kube.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'trellis-volumes-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const allocatable = { cpu: '2', memory: '1Gi', 'ephemeral-storage': '1Gi' };

function fakeApi(objects: Record<string, KObject>): VolumeApi & { tokens: { audience: string | undefined; expirationSeconds: number }[] } {
  const tokens: { audience: string | undefined; expirationSeconds: number }[] = [];
  return {
    tokens,
    configMap: async (ns, name) => objects[`cm/${ns}/${name}`],
    secret: async (ns, name) => objects[`secret/${ns}/${name}`],
    token: async (_pod, audience, expirationSeconds) => {
      tokens.push({ audience, expirationSeconds });
      return `token-${tokens.length}`;
    },
  };
}

const pod = (volumes: KObject[]): KObject => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'uid-vol-test', labels: { app: 'x', tier: 'web' } },
  spec: { containers: [{ name: 'c', resources: { limits: { memory: '64Mi' } } }], volumes },
});

describe('keyFiles', () => {
  it('selects items with their paths and modes and names a missing key', () => {
    const data = new Map([['a', Buffer.from('1')], ['b', Buffer.from('2')]]);
    const files = keyFiles('configmap', 'cfg', data, [{ key: 'b', path: 'sub/b.txt', mode: 0o600 }], 0o644, false);
    expect([...files].map(([p, f]) => [p, f.data.toString(), f.mode])).toEqual([['sub/b.txt', '2', 0o600]]);
    expect(() => keyFiles('configmap', 'cfg', data, [{ key: 'zz', path: 'z' }], 0o644, false)).toThrow(/has no key "zz"/);
    expect(() => keyFiles('configmap', 'cfg', data, [{ key: 'a', path: '../escape' }], 0o644, false)).toThrow(VolumeError);
  });
});

describe('PodVolumes', () => {
  it('renders ConfigMap, Secret and downwardAPI files, with modes, and removes keys that disappear', async () => {
    const objects: Record<string, KObject> = {
      'cm/ns/cfg': { data: { greeting: 'hello', other: 'x' } },
      'secret/ns/sec': { data: { key: Buffer.from('s3cret').toString('base64') } },
    };
    const v = new PodVolumes({
      pod: pod([
        { name: 'cfg', configMap: { name: 'cfg' } },
        { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } }] } },
        { name: 'scratch', emptyDir: {} },
      ]),
      root,
      api: fakeApi(objects),
      allocatable,
    });
    await v.refresh();
    expect(await readFile(join(v.path('cfg')!, 'greeting'), 'utf8')).toBe('hello');
    expect(await readFile(join(v.path('sec')!, 'key'), 'utf8')).toBe('s3cret');
    expect((await stat(join(v.path('sec')!, 'key'))).mode & 0o777).toBe(0o400);
    expect(await readFile(join(v.path('info')!, 'labels'), 'utf8')).toBe('app="x"\ntier="web"');
    expect(await readFile(join(v.path('info')!, 'mem'), 'utf8')).toBe('64');
    expect((await stat(v.path('scratch')!)).mode & 0o777).toBe(0o777);
    objects['cm/ns/cfg'] = { data: { greeting: 'bonjour' } };
    await v.refresh();
    expect(await readFile(join(v.path('cfg')!, 'greeting'), 'utf8')).toBe('bonjour');
    expect(existsSync(join(v.path('cfg')!, 'other'))).toBe(false);
    await v.remove();
    expect(existsSync(root)).toBe(false);
  });

  it('names a missing ConfigMap, and tolerates it when optional', async () => {
    const missing = new PodVolumes({ pod: pod([{ name: 'cfg', configMap: { name: 'absent' } }]), root, api: fakeApi({}), allocatable });
    await expect(missing.refresh()).rejects.toThrow('volume "cfg": configmap "absent" not found');
    const optional = new PodVolumes({ pod: pod([{ name: 'cfg', configMap: { name: 'absent', optional: true } }]), root, api: fakeApi({}), allocatable });
    await optional.refresh();
    expect(optional.path('cfg')).toBeDefined();
  });

  it('requests projected tokens with their audience and expiry and renews them at 80% of their life', async () => {
    let now = 1_000_000;
    const api = fakeApi({ 'cm/ns/kube-root-ca.crt': { data: { 'ca.crt': 'CA' } } });
    const v = new PodVolumes({
      pod: pod([
        {
          name: 'tokens',
          projected: {
            sources: [
              { serviceAccountToken: { audience: 'identity.l5d.io', expirationSeconds: 1000, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ]),
      root,
      api,
      allocatable,
      now: () => now,
    });
    await v.refresh();
    const dir = v.path('tokens')!;
    expect(await readFile(join(dir, 'token'), 'utf8')).toBe('token-1');
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe('CA');
    expect(await readFile(join(dir, 'namespace'), 'utf8')).toBe('ns');
    expect(api.tokens).toEqual([{ audience: 'identity.l5d.io', expirationSeconds: 1000 }]);
    now += 799_000;
    await v.refresh();
    expect(api.tokens).toHaveLength(1);
    now += 2_000;
    await v.refresh();
    expect(api.tokens).toHaveLength(2);
    expect(await readFile(join(dir, 'token'), 'utf8')).toBe('token-2');
  });
});
