// The seeds' journey on a single-node trellis-cluster, written once for `npm run demo` (tools/e2e/src/demo.ts) and
// the end-to-end test: cluster up, certificates, helm install of the CRDs and the control plane, the demo app,
// `kubectl get deploy -o yaml | trellis inject - | kubectl apply -f -`, rollout.
import { join } from 'node:path';
import { status, up } from '@trellis/cluster/src/control-plane.ts';
import { podLogs } from '@trellis/cluster/src/logs.ts';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { loadImages } from '@trellis/cluster/src/kubelet/images.ts';
import { nodesIn, runtimePaths } from '@trellis/cluster/src/kubelet/node.ts';
import { exec, execBoth, helm, isReady, kubectl, kubectlInput, longRunning, pods, until, type Cluster, type Pod } from './kube.ts';

export const TRELLIS_NS = 'trellis';
export const DEMO_NS = 'emojivoto';
export const PROXY_CONTAINER = 'linkerd-proxy';
/** The control plane's Deployments, by their linkerd.io/control-plane-component label. */
export const CONTROL_PLANE = ['identity', 'destination', 'proxy-injector'] as const;
export const DEMO_DEPLOYMENTS = ['emoji', 'voting', 'web', 'vote-bot'] as const;
export const DEMO_MANIFESTS = join(REPO_ROOT, 'tools/demo/manifests/emojivoto.yml');
export const TRELLIS_CLI = join(REPO_ROOT, 'dist/apps/cli/main.js');
const CERTS_CLI = join(REPO_ROOT, 'libs/pki/src/certs-cli.ts');
const IMAGES_CLI = join(REPO_ROOT, 'tools/images/src/cli.ts');

/** Named steps with their durations, printed as they finish and summed up at the end. */
export class Phases {
  readonly #log: (line: string) => void;
  readonly #done: { name: string; ms: number }[] = [];

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  async run<T>(name: string, step: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.#log(`${name} ...`);
    const result = await step();
    const ms = Date.now() - t0;
    this.#done.push({ name, ms });
    this.#log(`${name}: ${(ms / 1000).toFixed(1)} s`);
    return result;
  }

  summary(): string {
    const width = Math.max(...this.#done.map((p) => p.name.length));
    const total = this.#done.reduce((s, p) => s + p.ms, 0);
    return [...this.#done.map((p) => `  ${p.name.padEnd(width)}  ${(p.ms / 1000).toFixed(1).padStart(6)} s`), `  ${'total'.padEnd(width)}  ${(total / 1000).toFixed(1).padStart(6)} s`].join('\n');
  }
}

/**
 * A single-node cluster in dir: the one already running there (when it has a node), else a new one. Another node
 * cluster on this machine (one per machine) is waited for up to waitMs, with a line saying so.
 */
export async function startCluster(dir: string, waitMs: number, log: (line: string) => void, nodes = 1): Promise<Cluster> {
  const running = await status(dir).catch(() => undefined);
  if (running?.ready && running.components.every((c) => c.running)) {
    if (!running.state.node) throw new Error(`the cluster in ${dir} has no node (started without --node): trellis-cluster down --dir ${dir}, then try again`);
    if ((running.state.nodes ?? 1) !== nodes) throw new Error(`the cluster in ${dir} has ${running.state.nodes ?? 1} node(s), not ${nodes}: trellis-cluster down --dir ${dir}, then try again`);
    log(`reusing the cluster already running in ${dir}`);
    return { dir, kubeconfig: running.state.kubeconfig };
  }
  const state = await up(dir, { node: true, nodes, nodeWaitMs: waitMs, log });
  return { dir, kubeconfig: state.kubeconfig };
}

/**
 * Pods run images: every component image, the demo's, the e2e peers' (Linkerd's proxy among them) and the upstream
 * Prometheus the viz chart runs, built by tools/images (bundles, the local base, buildah; Prometheus from its pinned
 * binary), imported into the node's containerd. Images whose inputs did not change since they were built are not
 * built again, and a node that has an image already is not sent it again. Resolves with the references loaded.
 */
export async function loadNodeImages(cluster: Cluster, log: (line: string) => void = () => undefined): Promise<string[]> {
  const t0 = Date.now();
  const { stdout, stderr } = await execBoth(process.execPath, [IMAGES_CLI, '--all', '--demo', '--peers', '--upstream', '--smoke=false'], { cwd: REPO_ROOT });
  const summary = stderr.split('\n').filter((l) => /^trellis-images: (built \d+ image|nothing to build)/.test(l)).join(' ');
  log(`images: ${summary.replace(/^trellis-images: /, '')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // The <version> tags only: the <version>-<sha> twins name the same images.
  const refs = stdout.split('\n').filter((r) => r && !/-[0-9a-f]{7}$/.test(r));
  const t1 = Date.now();
  const nodes = await nodesIn(cluster.dir);
  const loaded = await loadImages(nodes.map((node) => runtimePaths(cluster.dir, node).socket), refs.map((r) => ({ source: r, names: [r] })));
  log(`images: ${loaded.imported} imported into ${nodes.length} node(s), ${loaded.present} already there (${((Date.now() - t1) / 1000).toFixed(1)} s)`);
  return refs;
}

/** A trust anchor and an issuer from libs/pki's certificate generator, in <dir>/certs. */
export async function makeCertificates(dir: string): Promise<string> {
  const out = join(dir, 'certs');
  await exec(process.execPath, [CERTS_CLI, '--out', out]);
  return out;
}

/** helm arguments that hand the certificates to the control-plane chart (helm/README.md). */
export const certificateValues = (certs: string): string[] => [
  '--set-file', `identityTrustAnchorsPEM=${join(certs, 'ca.crt')}`,
  '--set-file', `identity.issuer.tls.crtPEM=${join(certs, 'issuer.crt')}`,
  '--set-file', `identity.issuer.tls.keyPEM=${join(certs, 'issuer.key')}`,
];

export async function controlPlaneInstalled(cluster: Cluster): Promise<boolean> {
  return helm(cluster, '-n', TRELLIS_NS, 'status', 'trellis-control-plane').then(() => true, () => false);
}

/** helm install trellis-crds, then trellis-control-plane with the certificates and any extra helm arguments. */
export async function installTrellis(cluster: Cluster, certs: string, extra: readonly string[] = []): Promise<void> {
  await helm(cluster, 'install', 'trellis-crds', join(REPO_ROOT, 'helm/trellis-crds'), '-n', TRELLIS_NS, '--create-namespace');
  await helm(cluster, 'install', 'trellis-control-plane', join(REPO_ROOT, 'helm/trellis-control-plane'), '-n', TRELLIS_NS, ...certificateValues(certs), ...extra);
}

/** Pods meshed and Ready: each Ready, with its proxy among its running containers and all of them ready. */
function meshedReady(p: Pod, containers?: number): boolean {
  const running = longRunning(p);
  return (
    !p.metadata.deletionTimestamp &&
    isReady(p) &&
    running.some((c) => c.name === PROXY_CONTAINER) &&
    running.every((c) => c.ready) &&
    (containers === undefined || running.length === containers)
  );
}

/** Waits until each control-plane component has `replicas` pods, all Ready with a Ready proxy, and no others. */
export async function controlPlaneReady(cluster: Cluster, replicas: number, timeoutMs: number): Promise<Pod[]> {
  return until(cluster, `${replicas} Ready pod(s) of each control-plane component, each with its ${PROXY_CONTAINER}`, async () => {
    const all = await pods(cluster, TRELLIS_NS);
    const ok = CONTROL_PLANE.every((c) => {
      const mine = all.filter((p) => p.metadata.labels?.['linkerd.io/control-plane-component'] === c);
      return mine.length === replicas && mine.every((p) => meshedReady(p));
    });
    return ok && all;
  }, timeoutMs);
}

/** Applies the demo's manifests and waits until every Deployment is Available (running unmeshed, as in the seeds). */
export async function deployDemo(cluster: Cluster, timeoutMs: number): Promise<void> {
  await kubectl(cluster, 'apply', '-f', DEMO_MANIFESTS);
  await kubectl(cluster, '-n', DEMO_NS, 'wait', '--for=condition=Available', 'deploy', '--all', `--timeout=${Math.round(timeoutMs / 1000)}s`);
}

/**
 * `kubectl get -n emojivoto deploy -o yaml | trellis inject - | kubectl apply -f -`; resolves with kubectl's report.
 * The listing carries each object's resourceVersion, so a Deployment whose status the controller updated in between
 * is refused with a Conflict: the pipeline runs again on fresh objects then, as someone at a terminal would.
 */
export async function meshDemo(cluster: Cluster): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const deployments = await kubectl(cluster, 'get', '-n', DEMO_NS, 'deploy', '-o', 'yaml');
    const injected = await exec(process.execPath, [TRELLIS_CLI, 'inject', '-'], { input: deployments });
    try {
      return await kubectlInput(cluster, injected, 'apply', '-f', '-');
    } catch (err) {
      if (attempt >= 3 || !/\(Conflict\)/.test((err as Error).message)) throw err;
    }
  }
}

/** Waits for every demo Deployment's rollout, then for one Ready pod each with exactly its app and its proxy. */
export async function demoMeshed(cluster: Cluster, timeoutMs: number): Promise<Pod[]> {
  const deadline = Date.now() + timeoutMs;
  for (const d of DEMO_DEPLOYMENTS) {
    await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'status', `deploy/${d}`, `--timeout=${Math.max(1, Math.round((deadline - Date.now()) / 1000))}s`);
  }
  return until(cluster, `${DEMO_DEPLOYMENTS.length} Ready demo pods, each with 2 containers (the app and ${PROXY_CONTAINER})`, async () => {
    const all = await pods(cluster, DEMO_NS);
    return all.length === DEMO_DEPLOYMENTS.length && all.every((p) => meshedReady(p, 2)) && all;
  }, Math.max(1000, deadline - Date.now()));
}

/** The one pod of a demo Deployment (selected by its app label, e.g. voting-svc). */
export async function demoPod(cluster: Cluster, app: string): Promise<Pod> {
  const [p] = (await pods(cluster, DEMO_NS, `app=${app}`)).filter((x) => !x.metadata.deletionTimestamp);
  if (!p) throw new Error(`no ${app} pod in ${DEMO_NS}`);
  return p;
}

/** vote-bot's latest summary line: "vote-bot: N votes: A ok, B failed, C errors". */
export async function voteBotCounts(cluster: Cluster): Promise<{ ok: number; failed: number; errors: number }> {
  const bot = await demoPod(cluster, 'vote-bot-svc');
  const lines = (await podLogs(cluster.dir, DEMO_NS, bot.metadata.name, 'vote-bot')).split('\n').reverse();
  const m = /votes: (\d+) ok, (\d+) failed, (\d+) errors/.exec(lines.find((l) => l.includes(' votes: ')) ?? '');
  if (!m) throw new Error('vote-bot has printed no summary yet');
  return { ok: Number(m[1]), failed: Number(m[2]), errors: Number(m[3]) };
}

/** Where to look once the demo runs: the kubeconfig, pods, the web API, a proxy's metrics, logs, teardown. */
export async function lookAround(cluster: Cluster): Promise<string> {
  const voting = (await demoPod(cluster, 'voting-svc')).status.podIP ?? '<voting pod IP>';
  const bot = (await demoPod(cluster, 'vote-bot-svc')).metadata.name;
  return `
Look around:
  export KUBECONFIG=${cluster.kubeconfig} PATH=${join(REPO_ROOT, 'tools/bin')}:$PATH
  kubectl -n ${DEMO_NS} get pods
  kubectl -n ${DEMO_NS} port-forward svc/web-svc 8080:80 &   # as the seeds reach it; then open http://localhost:8080
  curl -s http://localhost:8080/api/leaderboard
  curl -s "http://localhost:8080/api/vote?choice=:doughnut:"   # the demo's deliberate failure
  curl -s http://${voting}:4191/metrics | grep 'tls="true"'   # voting's proxy: mTLS, with the caller's identity
  trellis check --proxy -n ${DEMO_NS}          # health checks, control plane and demo proxies
  trellis viz stat deploy -n ${DEMO_NS}        # golden metrics: voting's success rate shows the doughnut
  kubectl -n ${DEMO_NS} logs ${bot} -c vote-bot
Tear it down:
  trellis-cluster down --dir ${cluster.dir}
`;
}
