// A control-plane pod lost as a node that loses power loses it (every packet dropped, then the pod force-deleted: its
// peers see silence, never a FIN or RST), while the demo runs; for the journey to call:
//
//   await destinationVanishedPolicyCase(cluster, webAuthz); // a new AuthorizationPolicy reaches web's proxy
//   await destinationVanishedEndpointCase(cluster);               // a new emoji replica gets web's calls
//
// Each times the mesh from the new destination's Ready. Until the cluster DNS answers the new pod's address (it may
// have cached the name's empty answer for seconds), web's proxy reaches it through destination's ClusterIP Service.
// The policy's `kubectl apply` goes through the policy validator webhook first; its server closes each connection
// after one review, so the API server never holds a pooled connection to the vanished pod and waits out the
// webhook's timeout on it (docs/reference/control-plane-clients.md).
import { expect } from 'vitest';
import { podLogs } from '@trellis/cluster/src/logs.ts';
import { podNetns } from '@trellis/cluster/src/node-pods.ts';
import { DEMO_NS, PROXY_CONTAINER, TRELLIS_NS, demoPod } from '../src/journey.ts';
import { exec, httpGet, isReady, kubectl, kubectlInput, pods, reversedDocs, until, type Cluster, type Pod } from '../src/kube.ts';
import { parseMetrics, select } from '../src/prom.ts';
import { millisUntil } from '../src/rollout.ts';

const MINUTE = 60_000;
/** How soon after it could act the mesh must have acted. */
const BOUND_MS = 5_000;
const say = (line: string) => console.log(`[e2e] ${line}`);
const WEB_ID = `web.${DEMO_NS}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`;

/** Every packet in and out of the pod's network namespace dropped, then the pod force-deleted. */
async function vanish(cluster: Cluster, pod: Pod): Promise<void> {
  const netns = await podNetns(cluster.dir, pod.metadata.uid);
  for (const chain of ['INPUT', 'OUTPUT']) await exec('ip', ['netns', 'exec', netns, 'iptables-legacy', '-w', '-I', chain, '1', '-j', 'DROP']);
  await kubectl(cluster, '-n', pod.metadata.namespace, 'delete', 'pod', pod.metadata.name, '--grace-period=0', '--force', '--wait=false');
}

/** Polls every 200 ms for a Ready pod matching selector that is not among `old`: it, and when it was seen Ready. */
async function newReadyPod(cluster: Cluster, ns: string, selector: string, old: readonly Pod[]): Promise<{ pod: Pod; readyAt: number }> {
  const known = new Set(old.map((p) => p.metadata.uid));
  const fresh = async () => (await pods(cluster, ns, selector)).find((p) => !known.has(p.metadata.uid) && !p.metadata.deletionTimestamp && isReady(p));
  for (const deadline = Date.now() + 3 * MINUTE; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const pod = await fresh();
    if (pod) return { pod, readyAt: Date.now() };
  }
  return { pod: await until(cluster, `a new Ready pod for ${selector} in ${ns}`, fresh, 1), readyAt: Date.now() };
}

/** web's proxy log lines about its control-plane streams since `since`, for a failure message and the record. */
async function controlLog(cluster: Cluster, since: number): Promise<string> {
  const web = await demoPod(cluster, 'web-svc').catch(() => undefined);
  if (!web) return '';
  const log = await podLogs(cluster.dir, DEMO_NS, web.metadata.name, PROXY_CONTAINER).catch((e: Error) => e.message);
  return log.split('\n').filter((l) => /replaced|re-established|reconnecting/.test(l) && Number(/"time":(\d+)/.exec(l)?.[1] ?? 0) >= since).slice(-20).join('\n');
}

export async function destinationVanishedPolicyCase(cluster: Cluster, webAuthz: string): Promise<void> {
  const webIp = (await kubectl(cluster, '-n', DEMO_NS, 'get', 'svc', 'web-svc', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  const old = await pods(cluster, TRELLIS_NS, 'linkerd.io/control-plane-component=destination');
  expect(old).toHaveLength(1);
  // Open first: web answers this host until the policy reaches web's proxy.
  expect((await httpGet(`http://${webIp}/api/list`)).status).toBe(200);
  const lost = Date.now();
  await vanish(cluster, old[0]!);
  const { pod, readyAt } = await newReadyPod(cluster, TRELLIS_NS, 'linkerd.io/control-plane-component=destination', old);
  expect(pod.status.podIP).not.toBe(old[0]!.status.podIP);
  await kubectlInput(cluster, webAuthz, 'apply', '-f', '-');
  const storedAt = Date.now();
  try {
    const enforced = await millisUntil(cluster, 'a request from this host to web answered 403', readyAt, async () => (await httpGet(`http://${webIp}/api/list`)).status === 403, MINUTE);
    say(`destination vanished (${old[0]!.status.podIP} -> ${pod.status.podIP}, Ready ${readyAt - lost} ms after the loss); ` +
      `kubectl apply of the AuthorizationPolicy returned ${storedAt - readyAt} ms after Ready; web's proxy enforced it ${enforced} ms after Ready`);
    say(`web's proxy, control streams since the loss:\n${await controlLog(cluster, lost)}`);
    expect(enforced).toBeLessThan(BOUND_MS);
  } finally {
    // Whatever the outcome, web is opened again: the cases after this one call web from this host.
    await kubectlInput(cluster, reversedDocs(webAuthz), 'delete', '-f', '-');
  }
  const reopened = await millisUntil(cluster, 'a request from this host to web answered 200 again', Date.now(), async () => (await httpGet(`http://${webIp}/api/list`)).status === 200, MINUTE);
  say(`policy deleted: web open to this host again after ${reopened} ms`);
}

export async function destinationVanishedEndpointCase(cluster: Cluster): Promise<void> {
  const webIp = (await kubectl(cluster, '-n', DEMO_NS, 'get', 'svc', 'web-svc', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  const old = await pods(cluster, TRELLIS_NS, 'linkerd.io/control-plane-component=destination');
  const lost = Date.now();
  await vanish(cluster, old[0]!);
  const replaced = await newReadyPod(cluster, TRELLIS_NS, 'linkerd.io/control-plane-component=destination', old);
  const emoji = await pods(cluster, DEMO_NS, 'app=emoji-svc');
  await kubectl(cluster, '-n', DEMO_NS, 'scale', 'deploy/emoji', '--replicas=2');
  try {
    const { pod, readyAt } = await newReadyPod(cluster, DEMO_NS, 'app=emoji-svc', emoji);
    // This host asks web for the emoji list (web -> emoji-svc) in bursts of 16 at once, ten bursts a second: web's
    // balancer (peak-EWMA, as Linkerd's) starts a new endpoint at its default RTT, so one request at a time keeps
    // going to a fast warm replica and only load spreads to the new one.
    let calling = true;
    const load = (async () => {
      while (calling) {
        await Promise.all(Array.from({ length: 16 }, () => httpGet(`http://${webIp}/api/list`).catch(() => undefined)));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const webPod = await demoPod(cluster, 'web-svc');
    const discovered = millisUntil(cluster, 'web\'s proxy with two ready emoji-svc endpoints in its balancer', readyAt, async () => {
      const m = parseMetrics((await httpGet(`http://${webPod.status.podIP}:4191/metrics`)).text);
      const ready = ['outbound_grpc_balancer_endpoints', 'outbound_http_balancer_endpoints'].flatMap((f) => select(m, f, { endpoint_state: 'ready', parent_name: 'emoji-svc' }));
      return ready.reduce((n, s) => n + s.value, 0) >= 2;
    }, MINUTE).catch((err: Error) => err.message);
    const used = await millisUntil(cluster, `the new emoji pod's proxy serving calls from ${WEB_ID}`, readyAt, async () => {
      const m = parseMetrics((await httpGet(`http://${pod.status.podIP}:4191/metrics`)).text);
      return select(m, 'request_total', { direction: 'inbound', tls: 'true', client_id: WEB_ID }).some((s) => s.value > 0);
    }, MINUTE).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await controlLog(cluster, lost)}`);
    }).finally(() => (calling = false));
    await load;
    const known = await discovered;
    say(`destination vanished and replaced (Ready ${replaced.readyAt - lost} ms after the loss); emoji scaled to 2, the new replica Ready ${readyAt - lost} ms after the loss: ` +
      `in web's balancer ${typeof known === 'number' ? `${known} ms` : `never (${known})`} and serving web's calls ${used} ms after it was Ready (${pod.metadata.name}, ${pod.status.podIP})`);
    say(`web's proxy, control streams since the loss:\n${await controlLog(cluster, lost)}`);
    expect(used).toBeLessThan(BOUND_MS);
  } finally {
    await kubectl(cluster, '-n', DEMO_NS, 'scale', 'deploy/emoji', '--replicas=1');
  }
}
