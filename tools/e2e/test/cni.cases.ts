// CNI mode end to end, for a run on the kubelet node: the trellis-cni chart installs
// the plugin into the node's CNI directories and chains it after the node's bridge network; the control plane runs
// with cniEnabled=true, so the injector adds linkerd-network-validator instead of linkerd-init; the demo, meshed the
// seeds' way, then has no linkerd-init, proxy-init's golden nat table in every pod, and mTLS between its pods.
// The steps are exported to be called in order from a test of the lead's (after startCluster, loadNodeImages and
// makeCertificates of src/journey.ts, with no control plane installed yet):
//   installCniPlugin → installControlPlaneInCniMode → demoMeshedWithoutInit → natTablesAreGolden →
//   meshedTrafficIsMtls → installedPluginRejectsMalformedConfig → validatorNamesTheMissingPlugin (uninstalls).
// What they rely on from tools/cluster's kubelet node (src/kubelet/containerd.ts and cni.ts), all true today:
//   - the chart is pointed at the directories containerd's CRI plugin reads (conf_dir and bin_dir of its
//     config.toml, see nodeCniDirs): the installer writes trellis-cni into bin_dir. Today that is Debian's
//     /usr/lib/cni, so a run that stops before validatorNamesTheMissingPlugin leaves /usr/lib/cni/trellis-cni behind
//     (harmless: only a conflist naming it runs it; remove it by hand). Better, and the one change asked of
//     tools/cluster: a node-private bin_dir (<node dir>/cni-bin with symlinks to /usr/lib/cni/*), which these
//     steps pick up from config.toml with no change here;
//   - the node's conflist stays in conf_dir, written once at node start, so the installer's patch (the trellis-cni
//     entry appended to its plugins) is what containerd reads for new pods;
//   - the host reaches the kubernetes Service's ClusterIP (10.96.0.1:443) through kube-proxy: the plugin, exec'd by
//     containerd in the host's network namespace, reads pods through it;
//   - trellis/cni-plugin among the images loadNodeImages imports (tools/images builds it: it is in IMAGES).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { runtimePaths } from '@trellis/cluster/src/kubelet/node.ts';
import { NODE_NAME } from '@trellis/cluster/src/node-name.ts';
import { podNetns } from '@trellis/cluster/src/node-pods.ts';
import { exec, helm, httpGet, kubectl, pods, until, type Cluster, type Pod } from '../src/kube.ts';
import { CONTROL_PLANE, DEMO_NS, TRELLIS_NS, controlPlaneReady, demoMeshed, demoPod, deployDemo, installTrellis, meshDemo } from '../src/journey.ts';
import { normalizeSave } from '../src/nat.ts';
import { parseMetrics, select } from '../src/prom.ts';

export const CNI_NS = 'trellis-cni';
const MINUTE = 60_000;
const GOLDEN = join(REPO_ROOT, 'apps/proxy-init/test/golden/nat-injector-defaults.iptables-save');
const VALIDATOR = 'linkerd-network-validator';

export interface NodeCniDirs {
  /** containerd's conf_dir: the node's conflist, which the installer patches. */
  readonly confDir: string;
  /** containerd's bin_dir: Debian's plugins, and trellis-cni once installed. */
  readonly binDir: string;
}

/** containerd's CNI directories, as its config.toml names them. */
export async function nodeCniDirs(cluster: Cluster): Promise<NodeCniDirs> {
  const runtime = runtimePaths(cluster.dir, NODE_NAME);
  const toml = await readFile(runtime.config, 'utf8');
  const dir = (key: string) => {
    const m = new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, 'm').exec(toml);
    if (!m?.[1]) throw new Error(`${runtime.config} names no ${key} for the CRI plugin's CNI`);
    return m[1];
  };
  return { confDir: dir('conf_dir'), binDir: dir('bin_dir') };
}

type ConfList = { plugins: { type: string; kubernetes?: { kubeconfig: string } }[] };
const conflists = async (dirs: NodeCniDirs): Promise<{ file: string; doc: ConfList }[]> => {
  const names = (await readdir(dirs.confDir)).filter((n) => n.endsWith('.conflist')).sort();
  return Promise.all(names.map(async (n) => ({ file: join(dirs.confDir, n), doc: JSON.parse(await readFile(join(dirs.confDir, n), 'utf8')) as ConfList })));
};

type Status = { name: string; state?: { terminated?: { exitCode: number; message?: string } }; lastState?: { terminated?: { exitCode: number; message?: string } } };
const initStatus = (p: Pod, name: string) => (p.status.initContainerStatuses as readonly Status[] | undefined)?.find((s) => s.name === name);

/**
 * helm install trellis-cni with the node's directories; waits for the installer to run and for the node's conflist
 * to end with the trellis-cni entry, the executable and its kubeconfig in place. Resolves with the chained conflist.
 */
export async function installCniPlugin(cluster: Cluster): Promise<string> {
  const dirs = await nodeCniDirs(cluster);
  await helm(cluster, 'install', 'trellis-cni', join(REPO_ROOT, 'helm/trellis-cni'), '-n', CNI_NS, '--create-namespace', '--set', 'installNamespace=false', '--set', `destCNINetDir=${dirs.confDir}`, '--set', `destCNIBinDir=${dirs.binDir}`);
  await kubectl(cluster, '-n', CNI_NS, 'rollout', 'status', 'daemonset/trellis-cni', '--timeout=120s');
  const chained = await until(cluster, `trellis-cni chained last in the node's conflist, ${dirs.binDir}/trellis-cni installed`, async () => {
    const lists = await conflists(dirs);
    const last = lists[0]?.doc.plugins.at(-1);
    return existsSync(join(dirs.binDir, 'trellis-cni')) && last?.type === 'trellis-cni' && existsSync(last.kubernetes?.kubeconfig ?? '') && lists[0];
  }, MINUTE);
  expect(chained.doc.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'trellis-cni']);
  return `${chained.file}:\n${JSON.stringify(chained.doc, null, 2)}`;
}

/** The CRDs and the control plane with cniEnabled=true: each controller Ready, none with a linkerd-init. */
export async function installControlPlaneInCniMode(cluster: Cluster, certs: string): Promise<Pod[]> {
  await installTrellis(cluster, certs, ['--set', 'cniEnabled=true']);
  const cp = await controlPlaneReady(cluster, 1, 4 * MINUTE);
  expect(cp.map((p) => p.metadata.labels?.['linkerd.io/control-plane-component']).sort()).toEqual([...CONTROL_PLANE].sort());
  for (const p of cp) {
    const init = (p.spec.initContainers ?? []).map((c) => c.name);
    expect(init, p.metadata.name).not.toContain('linkerd-init');
    expect(init, p.metadata.name).toContain(VALIDATOR);
  }
  return cp;
}

/**
 * The demo applied and meshed as the seeds do; every pod Ready with its app and its proxy, no linkerd-init, and a
 * network validator that exited 0. Resolves with each pod's container list, for the closing note.
 */
export async function demoMeshedWithoutInit(cluster: Cluster): Promise<string> {
  await deployDemo(cluster, 2 * MINUTE);
  await meshDemo(cluster);
  const demo = await demoMeshed(cluster, 4 * MINUTE);
  const lines: string[] = [];
  for (const p of demo) {
    const init = (p.spec.initContainers ?? []).map((c) => c.name);
    expect(init, p.metadata.name).not.toContain('linkerd-init');
    expect(init[0], p.metadata.name).toBe(VALIDATOR);
    expect(initStatus(p, VALIDATOR)?.state?.terminated?.exitCode, p.metadata.name).toBe(0);
    lines.push(`${p.metadata.name}: initContainers=[${init.join(', ')}] containers=[${p.spec.containers.map((c) => c.name).join(', ')}]`);
  }
  return lines.join('\n');
}

/** Every demo pod's nat table equals proxy-init's golden file (the chart's defaults are the injector's). */
export async function natTablesAreGolden(cluster: Cluster): Promise<string> {
  const golden = await readFile(GOLDEN, 'utf8');
  const demo = await pods(cluster, DEMO_NS);
  expect(demo).toHaveLength(4);
  let first = '';
  for (const p of demo) {
    // The chart's iptablesMode is nft.
    const table = normalizeSave(await exec('ip', ['netns', 'exec', await podNetns(cluster.dir, p.metadata.uid), 'iptables-nft-save', '-t', 'nat']));
    expect(table, p.metadata.name).toBe(golden);
    first ||= `${p.metadata.name}:\n${table}`;
  }
  return first;
}

/** web's calls to voting and emoji over mTLS, in both sides' proxy metrics, within a minute. */
export async function meshedTrafficIsMtls(cluster: Cluster): Promise<string> {
  const id = (sa: string) => `${sa}.${DEMO_NS}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`;
  const web = await demoPod(cluster, 'web-svc');
  const voting = await demoPod(cluster, 'voting-svc');
  const metrics = async (p: Pod) => parseMetrics((await httpGet(`http://${p.status.podIP}:4191/metrics`)).text);
  const seen = await until(cluster, `voting's inbound request_total with tls="true" and client_id of web, and web's outbound to voting's server_id`, async () => {
    const [w, v] = await Promise.all([metrics(web), metrics(voting)]);
    const inbound = select(v, 'request_total', { direction: 'inbound', tls: 'true', client_id: id('web') }).filter((s) => s.value > 0);
    const outbound = select(w, 'request_total', { direction: 'outbound', tls: 'true', server_id: id('voting') }).filter((s) => s.value > 0);
    return inbound.length > 0 && outbound.length > 0 && [...inbound, ...outbound];
  }, MINUTE);
  return seen.map((s) => s.line).join('\n');
}

/** The executable the installer put on the node, exec'd as containerd would with a malformed entry: refused, named. */
export async function installedPluginRejectsMalformedConfig(cluster: Cluster): Promise<string> {
  const plugin = join((await nodeCniDirs(cluster)).binDir, 'trellis-cni');
  const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'trellis', type: 'trellis-cni', linkerd: { 'inbound-ports-to-ignore': ['4190', '41x'] } });
  const answer = await exec('sh', ['-c', `CNI_COMMAND=ADD CNI_CONTAINERID=e2e CNI_NETNS=/proc/self/ns/net CNI_IFNAME=eth0 CNI_PATH=/nonexistent "$0"; echo "exit $?"`, plugin], { input: stdin });
  expect(answer).toContain('"code":7');
  expect(answer).toContain('invalid value \\"41x\\" for linkerd.inbound-ports-to-ignore');
  expect(answer.trimEnd().endsWith('exit 1')).toBe(true);
  return answer.trim();
}

/**
 * helm uninstall trellis-cni: the entry leaves the conflist and the executable the node. A demo pod created then
 * (emoji, restarted) has no redirects: its validator fails and its status says why.
 */
export async function validatorNamesTheMissingPlugin(cluster: Cluster): Promise<string> {
  const dirs = await nodeCniDirs(cluster);
  await helm(cluster, 'uninstall', 'trellis-cni', '-n', CNI_NS, '--wait');
  await until(cluster, "trellis-cni out of the node's conflist and bin dir", async () => {
    const lists = await conflists(dirs);
    return !existsSync(join(dirs.binDir, 'trellis-cni')) && lists.every((l) => l.doc.plugins.every((p) => p.type !== 'trellis-cni'));
  }, MINUTE);
  await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'restart', 'deploy/emoji');
  const failed = await until(cluster, `a new emoji pod whose ${VALIDATOR} failed`, async () => {
    const fresh = (await pods(cluster, DEMO_NS, 'app=emoji-svc')).filter((p) => !p.metadata.deletionTimestamp);
    for (const p of fresh) {
      const s = initStatus(p, VALIDATOR);
      const t = s?.state?.terminated ?? s?.lastState?.terminated;
      if (t && t.exitCode === 1) return { pod: p.metadata.name, message: t.message ?? '' };
    }
    return undefined;
  }, 2 * MINUTE);
  expect(failed.message).toContain('outbound traffic is not redirected');
  return `${failed.pod}: ${failed.message}`;
}
