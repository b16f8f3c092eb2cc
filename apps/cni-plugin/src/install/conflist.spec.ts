import { describe, expect, it } from 'vitest';
import { addPlugin, pluginEntry, removePlugin } from './conflist.ts';

const primary = { cniVersion: '1.0.0', name: 'trellis', plugins: [{ type: 'bridge', bridge: 'trellis0' }, { type: 'portmap', capabilities: { portMappings: true } }] };
const entry = pluginEntry('{"name":"trellis-cni","type":"trellis-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}', '/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig');

describe('chaining into a CNI config', () => {
  it('appends the entry after the primary plugins, with the kubeconfig path filled in', () => {
    const patch = addPlugin(JSON.stringify(primary), entry);
    expect(patch.kind).toBe('write');
    const doc = JSON.parse(patch.kind === 'write' ? patch.text : '') as typeof primary;
    expect(doc.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'trellis-cni']);
    expect(doc.plugins[2]).toMatchObject({ kubernetes: { kubeconfig: '/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig' } });
  });

  it('leaves a chained file unchanged, so its own write does not trigger another', () => {
    const once = addPlugin(JSON.stringify(primary), entry);
    expect(addPlugin(once.kind === 'write' ? once.text : '', entry)).toEqual({ kind: 'unchanged' });
  });

  it('replaces an older entry of ours and turns a single-plugin .conf into a list', () => {
    const stale = { ...primary, plugins: [...primary.plugins, { type: 'trellis-cni', log_level: 'debug' }] };
    const patch = addPlugin(JSON.stringify(stale), entry);
    expect(patch.kind === 'write' && (JSON.parse(patch.text) as typeof primary).plugins.filter((p) => p.type === 'trellis-cni')).toHaveLength(1);
    const conf = addPlugin(JSON.stringify({ cniVersion: '0.4.0', name: 'net', type: 'bridge', bridge: 'cni0' }), entry);
    expect(conf.kind === 'write' && JSON.parse(conf.text)).toEqual({ cniVersion: '0.4.0', name: 'net', plugins: [{ type: 'bridge', bridge: 'cni0' }, { ...entry, type: 'trellis-cni' }] });
  });

  it('refuses files that are not JSON objects or chain nothing, saying why', () => {
    expect(addPlugin('{', entry)).toMatchObject({ kind: 'invalid', reason: /not JSON/ });
    expect(addPlugin(JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [] }), entry)).toEqual({ kind: 'invalid', reason: 'it chains no primary plugin' });
    expect(() => pluginEntry('{"kubeconfig": __KUBECONFIG_FILEPATH__}', '/x')).toThrow(/CNI_NETWORK_CONFIG is not JSON/);
  });

  it('takes the entry out again and nothing else', () => {
    const chained = addPlugin(JSON.stringify(primary), entry);
    const removed = removePlugin(chained.kind === 'write' ? chained.text : '');
    expect(removed.kind === 'write' && JSON.parse(removed.text)).toEqual(primary);
    expect(removePlugin(JSON.stringify(primary))).toEqual({ kind: 'unchanged' });
  });
});
