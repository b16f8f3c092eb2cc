// The plugin as a container runtime runs it: a conflist chaining Debian's bridge and host-local plugins and then
// the trellis-cni single executable, exec'd with nothing but the CNI_* environment, for pods that exist in a real
// API server, in real network namespaces. The nat table a meshed pod gets must be byte-equal to proxy-init's
// golden table for the injector's defaults. Needs root (network namespaces, a bridge, iptables) and the local
// API server (inject('kubeconfig')).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { applyPatch, inject as injectPod, resolveValues } from '@trellis/inject';
import { buildPluginExecutable } from '../scripts/sea.ts';
import { kubeconfigText } from '../src/install/kubeconfig.ts';
import { readKubeconfig } from '../src/kube/kubeconfig.ts';
import { execPlugin, PluginFailed, Runtime, type ConfList, type PodRef } from './runtime.ts';

const execFileP = promisify(execFile);
const GOLDEN = fileURLToPath(new URL('../../proxy-init/test/golden/nat-injector-defaults.iptables-save', import.meta.url));
const KUBECTL = fileURLToPath(new URL('../../../tools/bin/kubectl', import.meta.url));
const HELM = fileURLToPath(new URL('../../../tools/bin/helm', import.meta.url));
const CHART = fileURLToPath(new URL('../../../helm/trellis-cni', import.meta.url));
const VERSIONS = fileURLToPath(new URL('../../../tools/bin/versions.env', import.meta.url));
const DEBIAN_PLUGINS = '/usr/lib/cni';

const id = `${process.pid % 10000}${randomBytes(2).toString('hex')}`;
const namespace = `cni-${id}`;
const bridge = `tcni${id}`.slice(0, 15);
const subnet = `10.253.${process.pid % 250}.0/24`;
let work = '';
let runtime: Runtime;
let pluginKubeconfig = '';
/** The conflist entry helm/trellis-cni renders for its default values, as its installer chains it. */
let chartEntry: Record<string, unknown> = {};
const netnsNames: string[] = [];

async function sh(cmd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
const kubectl = (...args: string[]) => sh(KUBECTL, '--kubeconfig', inject('kubeconfig'), ...args);
async function apply(objects: unknown[]): Promise<void> {
  const file = join(work, `apply-${randomBytes(4).toString('hex')}.json`);
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await kubectl('apply', '-f', file);
}

/** iptables-save -t nat of a namespace, comments dropped and counters zeroed, as proxy-init's tests compare it. */
async function natTable(netns: string, save = 'iptables-nft-save'): Promise<string> {
  const text = await sh('ip', 'netns', 'exec', netns, save, '-t', 'nat');
  return `${text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n')}\n`;
}
const EMPTY_NAT = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';

let podCounter = 0;
/** A fresh network namespace for a pod sandbox, as the runtime makes one before calling ADD. */
async function sandbox(name: string): Promise<PodRef> {
  const ns = `trellis-cni-${id}-${podCounter++}`;
  await sh('ip', 'netns', 'add', ns);
  netnsNames.push(ns);
  return { containerId: `${ns}-sandbox`, netns: `/run/netns/${ns}`, namespace, name };
}
const nsName = (pod: PodRef) => pod.netns.replace('/run/netns/', '');

// The chart's entry chained after the node's primary network, with changes to it for some cases.
function confList(entry: Record<string, unknown> = {}, linkerd: Record<string, unknown> = {}): ConfList {
  return {
    cniVersion: '1.0.0',
    name: 'trellis-test',
    plugins: [
      { type: 'bridge', bridge, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(work, 'ipam') } },
      { ...chartEntry, linkerd: { ...(chartEntry['linkerd'] as Record<string, unknown>), ...linkerd }, ...entry },
    ],
  };
}

async function renderChartEntry(kubeconfigPath: string): Promise<Record<string, unknown>> {
  const kube = /^KUBERNETES_VERSION=(\S+)$/m.exec(await readFile(VERSIONS, 'utf8'))?.[1] ?? '';
  const docs = parseAllDocuments(await sh(HELM, 'template', 'trellis-cni', CHART, '--namespace', 'trellis-cni', '--kube-version', kube)).map((d) => d.toJS() as { kind?: string; data?: Record<string, string> });
  const text = docs.find((d) => d.kind === 'ConfigMap')?.data?.['cni_network_config'] ?? '';
  return JSON.parse(text.replaceAll('__KUBECONFIG_FILEPATH__', kubeconfigPath)) as Record<string, unknown>;
}

/** A pod as the injector meshes it in CNI mode (network validator, native linkerd-proxy sidecar, no linkerd-init). */
function meshedPod(name: string, annotations: Record<string, string> = {}): Record<string, unknown> {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations: { 'linkerd.io/inject': 'enabled', ...annotations } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
  const values = resolveValues({ cniEnabled: true, identityTrustAnchorsPEM: 'unused' });
  const res = injectPod({ object: pod, values, origin: 'cli', objectNamespace: namespace });
  if (!res.injected) throw new Error(`the injector did not mesh ${name}: ${res.reasons.join(', ')}`);
  return applyPatch(pod, res.patch);
}
const PLUGIN = () => join(work, 'bin/trellis-cni');
/** The CNI_* environment the runtime gives every plugin of the list for this pod. */
const podEnv = (command: string, pod: PodRef) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: pod.containerId,
  CNI_NETNS: pod.netns,
  CNI_IFNAME: 'eth0',
  CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`,
  CNI_PATH: DEBIAN_PLUGINS,
});
/** Our entry of the list as the runtime hands it to us alone. */
const entryStdin = (list: ConfList, prevResult?: unknown) =>
  JSON.stringify({ ...list.plugins[1], cniVersion: list.cniVersion, name: list.name, ...(prevResult === undefined ? {} : { prevResult }) });
const plainPod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'trellis-cni-root-'));
  const bin = join(work, 'bin');
  await buildPluginExecutable(join(bin, 'trellis-cni'));
  runtime = new Runtime([bin, DEBIAN_PLUGINS]);

  // The plugin reads pods with its own service account, as the installer sets it up (helm/trellis-cni's RBAC).
  await apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'trellis-cni', namespace } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `trellis-cni-${id}` }, rules: [{ apiGroups: [''], resources: ['pods', 'nodes', 'namespaces', 'services'], verbs: ['list', 'get', 'watch'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `trellis-cni-${id}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `trellis-cni-${id}` },
      subjects: [{ kind: 'ServiceAccount', name: 'trellis-cni', namespace }],
    },
  ]);
  const token = (await kubectl('-n', namespace, 'create', 'token', 'trellis-cni')).trim();
  const admin = await readKubeconfig(inject('kubeconfig'));
  pluginKubeconfig = join(work, 'ZZZ-trellis-cni-kubeconfig');
  await writeFile(pluginKubeconfig, kubeconfigText({ host: admin.server.hostname, port: admin.server.port || '443', token, caPem: admin.ca?.toString(), skipTlsVerify: false }));
  chartEntry = await renderChartEntry(pluginKubeconfig);
}, 180_000);

afterAll(async () => {
  for (const ns of netnsNames) await sh('ip', 'netns', 'del', ns).catch(() => undefined);
  await sh('ip', 'link', 'del', bridge).catch(() => undefined);
  if (inject('kubeconfig')) {
    await kubectl('delete', 'namespace', namespace, '--wait=false').catch(() => undefined);
    await kubectl('delete', 'clusterrole,clusterrolebinding', `trellis-cni-${id}`).catch(() => undefined);
  }
  if (work) await rm(work, { recursive: true, force: true });
});

describe('trellis-cni chained after bridge and host-local', () => {
  it("ADD with the chart's entry writes proxy-init's golden nat table into a meshed pod, and hands on the bridge's result", async () => {
    await apply([meshedPod('web')]);
    const pod = await sandbox('web');
    const result = await runtime.add(confList(), pod);
    expect(await natTable(nsName(pod))).toBe(await readFile(GOLDEN, 'utf8'));
    const ips = result['ips'] as { address: string }[];
    expect(ips[0]?.address).toMatch(new RegExp(`^10\\.253\\.${process.pid % 250}\\.\\d+/24$`));
    expect(result['cniVersion']).toBe('1.0.0');
    // ADD again (a retried sandbox) converges to the same table and hands on the same result.
    const again = await execPlugin(PLUGIN(), podEnv('ADD', pod), entryStdin(confList(), result));
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(result);
    expect(await natTable(nsName(pod))).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('writes the same table with iptables-legacy, and into ip6tables too when the conflist asks for IPv6', async () => {
    await apply([meshedPod('web-legacy')]);
    const pod = await sandbox('web-legacy');
    await runtime.add(confList({}, { 'iptables-mode': 'legacy', ipv6: true }), pod);
    const golden = await readFile(GOLDEN, 'utf8');
    expect(await natTable(nsName(pod), 'iptables-legacy-save')).toBe(golden);
    expect(await natTable(nsName(pod), 'ip6tables-legacy-save')).toBe(golden);
  });

  it('leaves unmeshed pods, and pods whose linkerd-init writes its own rules, untouched', async () => {
    const withInit = meshedPod('with-init') as { spec: { initContainers: { name: string }[] } };
    withInit.spec.initContainers.unshift({ name: 'linkerd-init', image: 'busybox' } as { name: string });
    await apply([plainPod('plain'), withInit]);
    for (const name of ['plain', 'with-init']) {
      const pod = await sandbox(name);
      await runtime.add(confList(), pod);
      expect(await natTable(nsName(pod)), name).toBe(EMPTY_NAT);
    }
  });

  it("uses the pod's own settings: its skip annotations and its namespace's", async () => {
    await kubectl('annotate', '--overwrite', 'namespace', namespace, 'config.linkerd.io/skip-outbound-ports=3306');
    await apply([meshedPod('annotated', { 'config.linkerd.io/skip-inbound-ports': '25,8000-8100' })]);
    const pod = await sandbox('annotated');
    await runtime.add(confList(), pod);
    const table = await natTable(nsName(pod));
    expect(table).toContain('-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190,4191,25,8000:8100 -m comment --comment "proxy-init/ignore-port-4190,4191,25,8000:8100" -j RETURN');
    expect(table).toContain('-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 3306 -m comment --comment "proxy-init/ignore-port-3306" -j RETURN');
    await kubectl('annotate', 'namespace', namespace, 'config.linkerd.io/skip-outbound-ports-');
  });

  it('CHECK passes on the written table and reports a rule someone removed', async () => {
    await apply([meshedPod('checked')]);
    const pod = await sandbox('checked');
    await runtime.add(confList(), pod);
    await runtime.check(confList(), pod);
    await sh('ip', 'netns', 'exec', nsName(pod), 'iptables-nft', '-t', 'nat', '-D', 'PROXY_INIT_OUTPUT', '1');
    const failure = await runtime.check(confList(), pod).then(
      () => undefined,
      (err: unknown) => err as PluginFailed,
    );
    expect(failure?.plugin).toBe('trellis-cni');
    expect(JSON.parse(failure?.exec.stdout ?? '{}')).toEqual({
      cniVersion: '1.0.0',
      code: 103,
      msg: `the nat table of pod ${namespace}/checked differs from what ADD wrote: IPv4: rule proxy-init/ignore-proxy-user-id is missing or changed`,
    });
  });

  it('DEL takes the rules out with the interface, and a second DEL, or one after the namespace is gone, succeeds', async () => {
    await apply([meshedPod('deleted')]);
    const pod = await sandbox('deleted');
    const result = await runtime.add(confList(), pod);
    expect(await natTable(nsName(pod))).not.toBe(EMPTY_NAT);
    await runtime.del(confList(), pod);
    expect(await natTable(nsName(pod))).toBe(EMPTY_NAT);
    expect(await sh('ip', '-n', nsName(pod), '-o', 'link')).not.toContain('eth0');
    const again = await execPlugin(PLUGIN(), podEnv('DEL', pod), entryStdin(confList(), result));
    expect(again).toMatchObject({ code: 0, stdout: '' });
    await sh('ip', 'netns', 'del', nsName(pod));
    const gone = await execPlugin(PLUGIN(), podEnv('DEL', pod), entryStdin(confList(), result));
    expect(gone).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('trellis-cni refusing what it cannot use', () => {
  // Every case: exit 1, the CNI error result on stdout naming the problem, and the pod's table left empty.
  const cases: [string, () => ConfList, number, string][] = [
    ['a bad port in the conflist', () => confList({}, { 'inbound-ports-to-ignore': ['4190', '41x'] }), 7, 'invalid network configuration: invalid value "41x" for linkerd.inbound-ports-to-ignore: "41x" is not a port or a range a-b'],
    ['an unknown setting', () => confList({}, { 'proxy-port': 4143 }), 2, 'invalid network configuration: linkerd.proxy-port is not a setting of this plugin'],
    ['a kubeconfig that is not there', () => confList({ kubernetes: { kubeconfig: '/nonexistent/kubeconfig' } }), 7, 'invalid network configuration: kubernetes.kubeconfig: cannot read the kubeconfig /nonexistent/kubeconfig'],
    ['a log level it does not know', () => confList({ log_level: 'verbose' }), 7, 'invalid network configuration: log_level is "verbose", expected one of debug, info, warn, error'],
  ];
  it.each(cases)('%s', async (_what, list, code, msg) => {
    await apply([meshedPod('refused')]);
    const pod = await sandbox('refused');
    const failure = await runtime.add(list(), pod).then(
      () => undefined,
      (err: unknown) => err as PluginFailed,
    );
    expect(failure?.plugin).toBe('trellis-cni');
    expect(failure?.exec.code).toBe(1);
    const answer = JSON.parse(failure?.exec.stdout ?? '{}') as { code: number; msg: string };
    expect(answer.code).toBe(code);
    expect(answer.msg.startsWith(msg), answer.msg).toBe(true);
    expect(failure?.exec.stderr).toContain(`trellis-cni: ${msg}`);
    expect(await natTable(nsName(pod))).toBe(EMPTY_NAT);
  });

  it('a meshed pod whose annotation cannot become a rule fails with the annotation named, and nothing written', async () => {
    await apply([meshedPod('bad-annotation', { 'config.linkerd.io/skip-outbound-ports': 'mysql' })]);
    const pod = await sandbox('bad-annotation');
    const failure = await runtime.add(confList(), pod).then(
      () => undefined,
      (err: unknown) => err as PluginFailed,
    );
    expect(JSON.parse(failure?.exec.stdout ?? '{}')).toMatchObject({
      code: 101,
      msg: `invalid value "mysql" for annotation config.linkerd.io/skip-outbound-ports of pod ${namespace}/bad-annotation: "mysql" is not a port or a range a-b`,
    });
    expect(await natTable(nsName(pod))).toBe(EMPTY_NAT);
  });

  it('malformed JSON on stdin is a decode error, and a VERSION call lists the versions', async () => {
    const pod = await sandbox('garbage');
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netns, CNI_IFNAME: 'eth0', CNI_PATH: DEBIAN_PLUGINS };
    const garbage = await execPlugin(PLUGIN(), env, '{"cniVersion": "1.0.0", "name": ');
    expect(garbage.code).toBe(1);
    expect(JSON.parse(garbage.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 6, msg: expect.stringMatching(/^the network configuration on stdin is not JSON/) as unknown });
    const version = await execPlugin(PLUGIN(), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(JSON.parse(version.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('an API server it cannot reach is "try again later" (11), so the kubelet retries the sandbox', async () => {
    const unreachable = join(work, 'unreachable-kubeconfig');
    await writeFile(unreachable, kubeconfigText({ host: '127.0.0.1', port: '1', token: 't', caPem: undefined, skipTlsVerify: true }));
    const pod = await sandbox('unreachable');
    const failure = await runtime.add(confList({ kubernetes: { kubeconfig: unreachable } }), pod).then(
      () => undefined,
      (err: unknown) => err as PluginFailed,
    );
    expect(JSON.parse(failure?.exec.stdout ?? '{}')).toMatchObject({ code: 11, msg: expect.stringMatching(/^cannot read pod cni-\w+\/unreachable from the API server: GET https:\/\/127.0.0.1:1\/.*ECONNREFUSED/) as unknown });
  });
});
