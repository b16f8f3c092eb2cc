// What the upstream kubelet node gives the seeds' journey that a process-per-pod node cannot, for a run on the kubelet
// node once the demo is meshed (each function asserts what a user would see and returns what it printed):
//
//   await portForwardWebCase(cluster);  // kubectl -n emojivoto port-forward svc/web-svc, then a GET through it
//   await execCase(cluster);            // kubectl exec into web's app container: the image's user and the pod's name
//   await builtImagesCase(cluster);     // each control-plane pod runs the image tools/images built (same image ID)
//   await proxyUserCase(cluster);       // the process listening on the proxy's inbound port runs as uid 2102
//   await proxyInitCase(cluster, cli);  // linkerd-init as the injector renders it by default (non-root, no privilege
//                                       // escalation) writes its redirects under containerd
//   await vizInClusterCase(cluster, cli); // viz's own meshed Prometheus scrapes every proxy; viz stat answers; tap
//                                         // refuses until the app restarts, then viz's tap injector enables it
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { buildahImageId } from '@trellis/cluster/src/kubelet/images.ts';
import { podNetns } from '@trellis/cluster/src/node-pods.ts';
import { DEMO_NS, PROXY_CONTAINER, TRELLIS_NS, demoPod } from '../src/journey.ts';
import { exec, isReady, kubectl, kubectlInput, pods, portForward, until, type Cluster, type Pod } from '../src/kube.ts';
import { normalizeSave } from '../src/nat.ts';
import { tapReadyCase, tapWebCase } from './tap.cases.ts';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';

const say = (line: string) => console.log(`[node] ${line}`);

/** The seeds reach the demo with `kubectl -n emojivoto port-forward svc/web-svc 8080:80`: here on a free local port. */
export async function portForwardWebCase(cluster: Cluster): Promise<string> {
  const pf = await portForward(cluster, DEMO_NS, 'svc/web-svc', 80);
  try {
    const res = await fetch(`http://127.0.0.1:${pf.port}/api/list`, { signal: AbortSignal.timeout(10_000) });
    const list = (await res.json()) as { shortcode: string }[];
    const line = `kubectl -n ${DEMO_NS} port-forward svc/web-svc :80 -> ${pf.output().split('\n')[0]}; GET /api/list: HTTP ${res.status}, ${list.length} emojis`;
    say(line);
    expect(res.status).toBe(200);
    expect(list.length).toBeGreaterThan(10);
    return line;
  } finally {
    pf.stop();
  }
}

/** `kubectl exec` into web's app container: it runs as the image's user (65534), in the pod (its hostname). */
export async function execCase(cluster: Cluster): Promise<string> {
  const web = await demoPod(cluster, 'web-svc');
  const out = (await kubectl(cluster, '-n', DEMO_NS, 'exec', web.metadata.name, '-c', 'web', '--', 'node', '-e', 'console.log(process.getuid(), require("node:os").hostname())')).trim();
  say(`kubectl -n ${DEMO_NS} exec ${web.metadata.name} -c web -- node -e ...: ${out}`);
  expect(out).toBe(`65534 ${web.metadata.name}`);
  return out;
}

type Status = { name: string; image: string; imageID: string };

/** Each control-plane pod's component container runs the image tools/images built: the kubelet's imageID is its ID. */
export async function builtImagesCase(cluster: Cluster): Promise<string> {
  const lines: string[] = [];
  for (const p of await pods(cluster, TRELLIS_NS)) {
    const statuses = (p.status as unknown as { containerStatuses?: Status[]; initContainerStatuses?: Status[] });
    for (const s of [...(statuses.containerStatuses ?? []), ...(statuses.initContainerStatuses ?? [])]) {
      if (!/trellis\//.test(s.image)) continue;
      // The kubelet spells the image docker.io/trellis/...; buildah keeps the local build as localhost/trellis/....
      const built = await buildahImageId(s.image.replace(/^(docker\.io\/)?(?=trellis\/)/, 'localhost/'));
      lines.push(`${p.metadata.name} ${s.name}: ${s.image} imageID=${s.imageID} built=${built}`);
      expect(s.imageID.replace(/^.*sha256:/, ''), `${p.metadata.name}/${s.name} runs ${s.image}`).toBe(built.replace(/^sha256:/, ''));
    }
  }
  say(`control-plane images:\n${lines.join('\n')}`);
  expect(lines.length).toBeGreaterThanOrEqual(6);
  return lines.join('\n');
}

/** The process that listens on the proxy's inbound port (4143) in web's pod runs as uid 2102, as the chart asks. */
export async function proxyUserCase(cluster: Cluster): Promise<string> {
  const web = await demoPod(cluster, 'web-svc');
  const netns = await podNetns(cluster.dir, web.metadata.uid);
  const ss = await exec('ip', ['netns', 'exec', netns, 'ss', '-Hltnp', 'sport = :4143']);
  const pid = /pid=(\d+)/.exec(ss)?.[1];
  expect(pid, `no process listening on 4143 in ${netns}: ${ss}`).toBeDefined();
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
  const line = `${web.metadata.name} ${PROXY_CONTAINER}: pid ${pid} listening on 4143, Uid: ${uids.join(' ')}`;
  say(line);
  expect(uids).toEqual(['2102', '2102', '2102', '2102']);
  return line;
}

/**
 * The CLI commands that reach the mesh through a port-forward, as Linkerd's do: `trellis identity` (the certificate
 * web's proxy presents) and `trellis diagnostics endpoints` (what destination tells a proxy for web-svc).
 */
export async function cliPortForwardCase(cluster: Cluster, cli: string): Promise<string> {
  const trellis = (...args: string[]) => exec(process.execPath, [cli, ...args, '--kubeconfig', cluster.kubeconfig]);
  const identity = await trellis('-n', DEMO_NS, 'identity', 'deploy/web');
  say(`trellis -n ${DEMO_NS} identity deploy/web:\n${identity.split('\n').slice(0, 14).join('\n')}`);
  expect(identity).toContain(`web.${DEMO_NS}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`);
  const endpoints = await trellis('diagnostics', 'endpoints', `web-svc.${DEMO_NS}.svc.cluster.local:80`);
  say(`trellis diagnostics endpoints web-svc.${DEMO_NS}.svc.cluster.local:80:\n${endpoints}`);
  const web = await demoPod(cluster, 'web-svc');
  expect(endpoints).toContain(web.status.podIP);
  return `${identity}\n${endpoints}`;
}

const INIT_NS = 'proxy-init-e2e';
const INIT_GOLDEN = join(REPO_ROOT, 'apps/proxy-init/test/golden/nat-injector-defaults.iptables-save');

type InitStatus = { name: string; state?: { terminated?: { exitCode: number; reason?: string } } };
type InitSpec = { name: string; securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { add?: string[] } } };

/**
 * linkerd-init as the injector renders it by default, on containerd: uid 65534, allowPrivilegeEscalation false (so
 * no_new_privs), NET_ADMIN and NET_RAW added. The kernel then lets an exec keep only the capabilities its caller held,
 * so the image must grant them to Node as well as to iptables. demo's voting Deployment is injected with
 * `trellis inject --manual` and cniEnabled=false laid over the cluster's values (the CNI plugin leaves pods with a
 * linkerd-init alone), applied to a namespace of its own: linkerd-init exits 0, its nat table is proxy-init's golden
 * one and the pod turns Ready.
 */
export async function proxyInitCase(cluster: Cluster, cli: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-init-e2e-'));
  try {
    const deploy = JSON.parse(await kubectl(cluster, '-n', DEMO_NS, 'get', 'deploy/voting', '-o', 'json')) as {
      metadata: Record<string, unknown>;
      spec: { template: { spec: Record<string, unknown> } };
    };
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'voting', namespace: INIT_NS },
      spec: { ...deploy.spec, template: { ...deploy.spec.template, spec: { ...deploy.spec.template.spec, serviceAccountName: 'default' } } },
    };
    await writeFile(join(dir, 'deploy.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'values.yaml'), 'cniEnabled: false\n');
    const injected = await exec(process.execPath, [cli, 'inject', '--manual', '--values', join(dir, 'values.yaml'), join(dir, 'deploy.json'), '--kubeconfig', cluster.kubeconfig]);
    await kubectl(cluster, 'create', 'namespace', INIT_NS);
    await kubectlInput(cluster, injected, 'apply', '-f', '-');
    const pod = await until(cluster, `${INIT_NS}'s voting pod Ready after its linkerd-init`, async () => (await pods(cluster, INIT_NS)).find(isReady), 4 * 60_000).catch(async (err: Error) => {
      const all = await pods(cluster, INIT_NS).catch(() => [] as Pod[]);
      const logs = await kubectl(cluster, '-n', INIT_NS, 'logs', '-l', 'app=voting-svc', '-c', 'linkerd-init', '--tail', '20').catch((e: Error) => e.message);
      throw new Error(`${err.message}\npods: ${JSON.stringify(all.map((p) => p.status))}\nlinkerd-init logs: ${logs}`);
    });
    const spec = (pod.spec.initContainers as readonly InitSpec[] | undefined)?.find((c) => c.name === 'linkerd-init');
    const status = (pod.status.initContainerStatuses as readonly InitStatus[] | undefined)?.find((c) => c.name === 'linkerd-init');
    expect(spec?.securityContext).toMatchObject({ runAsUser: 65534, runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(spec?.securityContext?.capabilities?.add).toEqual(expect.arrayContaining(['NET_ADMIN', 'NET_RAW']));
    expect(status?.state?.terminated?.exitCode).toBe(0);
    const table = normalizeSave(await exec('ip', ['netns', 'exec', await podNetns(cluster.dir, pod.metadata.uid), 'iptables-nft-save', '-t', 'nat']));
    expect(table).toBe(await readFile(INIT_GOLDEN, 'utf8'));
    const line = `${INIT_NS}/${pod.metadata.name}: linkerd-init (uid 65534, allowPrivilegeEscalation false) exited ${status?.state?.terminated?.exitCode} (${status?.state?.terminated?.reason}); nat table is proxy-init's golden; pod Ready`;
    say(line);
    return line;
  } finally {
    await kubectl(cluster, 'delete', 'namespace', INIT_NS, '--ignore-not-found', '--wait=false').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

type Target = { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string };

/**
 * `trellis viz install | kubectl apply -f -` on the node, with the chart's own Prometheus in a pod, meshed: it scrapes
 * every proxy's admin port through its proxy (mTLS, HTTP/2 between proxies), so every linkerd-proxy target is up
 * (before the admin port took mTLS, every one failed with 502), and `trellis viz stat` answers from it. Then tap, as
 * a user meets it after installing viz: refused with the reason until the app's pods restart, then streaming.
 */
export async function vizInClusterCase(cluster: Cluster, cli: string): Promise<string> {
  const trellis = (...args: string[]) => exec(process.execPath, [cli, ...args, '--kubeconfig', cluster.kubeconfig]);
  await kubectlInput(cluster, await trellis('viz', 'install'), 'apply', '-f', '-');
  await until(cluster, 'every trellis-viz pod Ready', async () => {
    const all = await pods(cluster, 'trellis-viz');
    return all.length >= 4 && all.every(isReady) && all;
  }, 4 * 60_000);
  const meshed = (await pods(cluster, TRELLIS_NS)).length + (await pods(cluster, DEMO_NS)).length + (await pods(cluster, 'trellis-viz')).length;
  const pf = await portForward(cluster, 'trellis-viz', 'deploy/prometheus', 9090);
  try {
    const targets = await until(cluster, `all ${meshed} linkerd-proxy targets up in the in-cluster Prometheus`, async () => {
      const res = (await (await fetch(`http://127.0.0.1:${pf.port}/api/v1/targets`, { signal: AbortSignal.timeout(5_000) })).json()) as { data: { activeTargets: Target[] } };
      const proxies = res.data.activeTargets.filter((t) => t.labels['job'] === 'linkerd-proxy');
      return proxies.length >= meshed && proxies.every((t) => t.health === 'up') && proxies;
    }, 3 * 60_000).catch(async (err: Error) => {
      const res = await fetch(`http://127.0.0.1:${pf.port}/api/v1/targets`).then((r) => r.text(), (e: Error) => e.message);
      throw new Error(`${err.message}\n${res.slice(0, 3000)}`);
    });
    const stat = await until(cluster, "viz stat with voting's success rate", async () => {
      const out = await trellis('-n', DEMO_NS, 'viz', 'stat', 'deploy');
      return /^voting\s+1\/1\s+\d+\.\d+%/m.test(out) && out;
    }, 3 * 60_000);
    // The seeds' order: viz after the app. The app's proxies have no tap identity yet; tap says so, and after a restart
    // viz's tap injector has given the new pods the identity and tap streams their requests.
    const refused = await trellis('-n', DEMO_NS, 'viz', 'tap', 'deploy/web').then((out) => `exit 0: ${out}`, (err: Error) => err.message);
    expect(refused).toContain('tap not enabled');
    await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'restart', 'deploy');
    await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'status', 'deploy', '--timeout=180s');
    await tapReadyCase(cluster);
    const tapped = await tapWebCase(cluster, cli);
    const lines = [
      `${targets.length} linkerd-proxy targets up: ${targets.map((t) => t.scrapeUrl).join(' ')}`,
      `trellis -n ${DEMO_NS} viz stat deploy:\n${stat}`,
      `trellis -n ${DEMO_NS} viz tap deploy/web before the restart: ${refused.split('\n').filter((l) => l.includes('tap')).slice(0, 2).join(' ')}`,
      `after kubectl rollout restart: ${tapped.split('\n').slice(0, 3).join('\n')}`,
    ];
    say(lines.join('\n'));
    return lines.join('\n');
  } finally {
    pf.stop();
  }
}
