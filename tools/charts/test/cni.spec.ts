// The CNI chart as an operator meets it: lint, golden renders, the conflist entry it hands the installer (Linkerd's
// keys, the same ports as the control plane's linkerd-init), the DaemonSet that runs the installer on every node,
// and schema errors. helm is the pinned binary from tools/bin.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHARTS, lint, render, template } from '../src/helm.ts';
import { find, names, parseManifests, type KubeObject } from '../src/manifests.ts';
import { CNI_CASES, CNI_NAMESPACE } from './cni-cases.ts';
import { GOLDEN_DIR } from './golden.ts';

const objects = async (set: Record<string, string> = {}) => parseManifests(await render(CHARTS.cni, { namespace: CNI_NAMESPACE, set }));
const conflistEntry = (objs: KubeObject[]) =>
  JSON.parse(((find(objs, 'ConfigMap', 'trellis-cni-config')['data'] as Record<string, string>)['cni_network_config'] as string).replace('__KUBECONFIG_FILEPATH__', '/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig')) as {
    type: string;
    log_level: string;
    kubernetes: { kubeconfig: string };
    linkerd: Record<string, unknown>;
  };
type PodSpec = { hostNetwork: boolean; tolerations: unknown[]; serviceAccountName: string; containers: { name: string; image: string; command: string[]; volumeMounts: { name: string; mountPath: string }[]; securityContext: Record<string, unknown> }[]; volumes: { name: string; hostPath: { path: string } }[] };
const podSpec = (objs: KubeObject[]) => ((find(objs, 'DaemonSet', 'trellis-cni')['spec'] as { template: { spec: PodSpec } }).template.spec);

describe('trellis-cni: helm lint --strict', () => {
  it.each(CNI_CASES.map((c) => [c.name, c] as const))('passes for %s', async (_name, c) => {
    const r = await lint(CHARTS.cni, c.opts);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('trellis-cni: golden renders', () => {
  it.each(CNI_CASES.map((c) => [c.name, c] as const))('%s matches its golden file', async (name, c) => {
    const out = await render(CHARTS.cni, c.opts);
    const file = join(GOLDEN_DIR, `${name}.yaml`);
    if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(file, out);
    const golden = await readFile(file, 'utf8').catch(() => '');
    expect(out, `${file} differs (UPDATE_GOLDEN=1 refreshes it after review)`).toBe(golden);
  });
});

describe('trellis-cni: the default install', () => {
  it("chains a trellis-cni entry with the ports the control plane's linkerd-init uses by default", async () => {
    const entry = conflistEntry(await objects());
    expect(entry.type).toBe('trellis-cni');
    expect(entry.kubernetes).toEqual({ kubeconfig: '/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig' });
    expect(entry.linkerd).toEqual({
      'incoming-proxy-port': 4143,
      'outgoing-proxy-port': 4140,
      'proxy-uid': 2102,
      'proxy-gid': -1,
      'ports-to-redirect': [],
      'inbound-ports-to-ignore': ['4190', '4191', '4567', '4568'],
      'outbound-ports-to-ignore': ['4567', '4568'],
      simulate: false,
      'use-wait-flag': false,
      'iptables-mode': 'nft',
      ipv6: false,
    });
    const cp = parse(await readFile(join(CHARTS.controlPlane, 'values.yaml'), 'utf8')) as { proxyInit: { ignoreInboundPorts: string; ignoreOutboundPorts: string; iptablesMode: string } };
    expect(entry.linkerd['inbound-ports-to-ignore']).toEqual(['4190', '4191', ...cp.proxyInit.ignoreInboundPorts.split(',')]);
    expect(entry.linkerd['outbound-ports-to-ignore']).toEqual(cp.proxyInit.ignoreOutboundPorts.split(','));
    expect(entry.linkerd['iptables-mode']).toBe(cp.proxyInit.iptablesMode);
  });

  it("runs the installer on every node, in the host's network, with the node's CNI directories mounted", async () => {
    const objs = await objects();
    expect(names(objs)).toEqual(['Namespace/trellis-cni', 'ServiceAccount/trellis-cni', 'ConfigMap/trellis-cni-config', 'ClusterRole/trellis-cni', 'ClusterRoleBinding/trellis-cni', 'DaemonSet/trellis-cni']);
    const spec = podSpec(objs);
    expect(spec.hostNetwork).toBe(true);
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.serviceAccountName).toBe('trellis-cni');
    const c = spec.containers[0];
    expect(c?.image).toBe(`trellis/cni-plugin:${VERSION}`);
    expect(c?.command).toEqual(['/opt/cni/bin/trellis-cni', 'install']);
    expect(c?.volumeMounts).toEqual([
      { name: 'cni-bin-dir', mountPath: '/host/opt/cni/bin' },
      { name: 'cni-net-dir', mountPath: '/host/etc/cni/net.d' },
    ]);
    expect(spec.volumes.map((v) => v.hostPath.path)).toEqual(['/opt/cni/bin', '/etc/cni/net.d']);
    expect(find(objs, 'Namespace', CNI_NAMESPACE).metadata['labels']).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged', 'config.linkerd.io/admission-webhooks': 'disabled' });
    const meta = parse(await readFile(join(CHARTS.cni, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    expect([meta.version, meta.appVersion]).toEqual([VERSION, VERSION]);
  });

  it('lets the plugin read pods, namespaces and services, and nothing else', async () => {
    expect(find(await objects(), 'ClusterRole', 'trellis-cni')['rules']).toEqual([{ apiGroups: [''], resources: ['pods', 'nodes', 'namespaces', 'services'], verbs: ['list', 'get', 'watch'] }]);
  });

  it('mounts one directory when bin and conf share it, and rolls the installers when the entry changes', async () => {
    const shared = podSpec(await objects({ destCNINetDir: '/etc/cni', destCNIBinDir: '/etc/cni' }));
    expect(shared.volumes).toEqual([{ name: 'cni-net-dir', hostPath: { path: '/etc/cni' } }]);
    const checksum = async (set: Record<string, string>) =>
      ((find(await objects(set), 'DaemonSet', 'trellis-cni')['spec'] as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['checksum/config']);
    expect(await checksum({ logLevel: 'debug' })).not.toBe(await checksum({}));
  });
});

describe('trellis-cni: values the schema refuses', () => {
  it.each([
    ['iptablesMode=ebpf', "at '/iptablesMode': value must be one of 'nft', 'legacy', 'plain'"],
    ['inboundProxyPort=70000', "at '/inboundProxyPort'"],
    ['destCNINetDir=etc/cni', "at '/destCNINetDir'"],
    ['proxyUID=0', "at '/proxyUID'"],
    ['logLevel=loud', "at '/logLevel'"],
    ['enablePSP=true', "additional properties 'enablePSP' not allowed"],
  ])('%s', async (kv, message) => {
    const [k = '', v = ''] = kv.split('=');
    const r = await template(CHARTS.cni, { namespace: CNI_NAMESPACE, set: { [k]: v } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
