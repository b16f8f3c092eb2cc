import { describe, expect, it } from 'vitest';
import { EnvError, expandVars, parseQuantity, resolveEnv, resourceValue, type EnvSources } from './env.ts';

const pod = {
  metadata: { name: 'web-1', namespace: 'emojivoto', uid: 'u-1', labels: { app: 'web' }, annotations: { 'linkerd.io/inject': 'enabled' } },
  spec: { nodeName: 'trellis-node', serviceAccountName: 'web' },
};
const src: EnvSources = {
  pod,
  podIP: '10.244.0.7',
  hostIP: '10.244.0.1',
  nodeAllocatable: { cpu: '2', memory: '2048Mi', 'ephemeral-storage': '20Gi' },
  configMap: async (name) => (name === 'cfg' ? { LEVEL: 'debug', MODE: 'x' } : undefined),
  secret: async (name) => (name === 'sec' ? { TOKEN: 's3cret' } : undefined),
};

describe('expandVars', () => {
  const vars = new Map([['A', 'one'], ['B', 'two']]);
  it('replaces $(VAR) with earlier values, keeps unknown references and unescapes $$', () => {
    expect(expandVars('$(A)-$(B)-$(C)', vars)).toBe('one-two-$(C)');
    expect(expandVars('$$(A) $$ $x', vars)).toBe('$(A) $ $x');
    expect(expandVars('tail $(A', vars)).toBe('tail $(A');
  });
});

describe('parseQuantity', () => {
  it('reads milli, binary and decimal suffixes and exponents', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('2e3')).toBe(2000);
    expect(() => parseQuantity('lots')).toThrow(EnvError);
  });
});

describe('resourceValue', () => {
  const containers = [{ name: 'app', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } } }];
  it('divides by the divisor and rounds up', () => {
    expect(resourceValue({ resource: 'requests.cpu', divisor: '1m' }, containers, 'app', src)).toBe('250');
    expect(resourceValue({ resource: 'requests.cpu' }, containers, 'app', src)).toBe('1');
    expect(resourceValue({ resource: 'limits.memory', divisor: '1Mi' }, containers, 'app', src)).toBe('64');
  });
  it('falls back to node allocatable for an unset limit', () => {
    expect(resourceValue({ resource: 'limits.cpu' }, containers, 'app', src)).toBe('2');
  });
  it('names a container the pod does not have', () => {
    expect(() => resourceValue({ resource: 'limits.cpu', containerName: 'nope' }, containers, 'app', src)).toThrow(/nope/);
  });
});

describe('resolveEnv', () => {
  it('builds env from envFrom, values, fieldRef, resourceFieldRef and keys, then expands argv', async () => {
    const container = {
      name: 'app',
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
      env: [
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'ADDR', value: '$(IP):4143' },
        { name: 'ID', value: '$(POD).$(NS).$(MISSING)' },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'TOKEN' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'absent', key: 'x', optional: true } } },
      ],
    };
    const r = await resolveEnv(container, [container], ['serve', '--addr=$(ADDR)', '--level=$(CFG_LEVEL)'], new Map([['PATH', '/bin']]), src);
    expect(Object.fromEntries(r.env)).toEqual({
      PATH: '/bin', CFG_LEVEL: 'debug', CFG_MODE: 'x', POD: 'web-1', NS: 'emojivoto', IP: '10.244.0.7', APP: 'web',
      ADDR: '10.244.0.7:4143', ID: 'web-1.emojivoto.$(MISSING)', CPU: '2', TOKEN: 's3cret',
    });
    expect(r.argv).toEqual(['serve', '--addr=10.244.0.7:4143', '--level=debug']);
  });

  it('fails with the missing key and source named', async () => {
    const container = { name: 'app', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE' } } }] };
    await expect(resolveEnv(container, [container], [], new Map(), src)).rejects.toThrow(/key "NOPE" of configmap "cfg"/);
  });
});
