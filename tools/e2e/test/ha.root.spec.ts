// values-ha.yaml as a platform engineer installs it, on three nodes (needs root): `trellis-cluster up --node --nodes 3`
// runs trellis-node on the host and trellis-node-2 and -3 each in a network namespace with its own containerd,
// kubelet and kube-proxy. The chart's required pod anti-affinity stays on: each controller's three replicas land
// one per node. Then one node dies (its kubelet, kube-proxy, containerd and every pod on it killed): the demo, meshed
// and kept on the first node, keeps voting without an error, and the control plane's two remaining replicas keep
// answering: a new meshed pod is injected, gets its identity and serves. The teardown leaves nothing of any node.
// One node cluster runs per machine: up waits (bounded) for another test's or demo's cluster to go down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { down, readState, stopNode } from '@trellis/cluster/src/control-plane.ts';
import { isOurs } from '@trellis/cluster/src/processes.ts';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { leftovers } from '@trellis/cluster/src/node-network.ts';
import { nodePodNetns } from '@trellis/cluster/src/node-pods.ts';
import { kubeletNodeLeftovers } from '@trellis/cluster/src/kubelet/node.ts';
import { NODE_NAME, nodeNames } from '@trellis/cluster/src/node-name.ts';
import { httpGet, kubectl, pods, until, type Cluster, type Pod } from '../src/kube.ts';
import {
  CONTROL_PLANE,
  DEMO_DEPLOYMENTS,
  DEMO_MANIFESTS,
  DEMO_NS,
  Phases,
  TRELLIS_NS,
  controlPlaneReady,
  demoMeshed,
  installTrellis,
  loadNodeImages,
  makeCertificates,
  meshDemo,
  startCluster,
  voteBotCounts,
} from '../src/journey.ts';

const NODE_WAIT_MS = 15 * 60_000;
const MINUTE = 60_000;
const NODES = 3;
/** The node that dies: one of the namespaced nodes, so the host's node (and the demo on it) stays. */
const VICTIM = nodeNames(NODES)[2]!;
const phases = new Phases((line) => console.log(`[ha] ${line}`));
let dir: string;
let cluster: Cluster;
let tornDown = false;

const componentOf = (p: Pod) => p.metadata.labels?.['linkerd.io/control-plane-component'] ?? '';

const botCounts = () => voteBotCounts(cluster);

beforeAll(async () => {
  dir = await mkdtemp('/tmp/trellis-ha-e2e-');
});

afterAll(async () => {
  if (process.env['TRELLIS_E2E_KEEP'] === '1' && dir) console.log(`[ha] cluster kept in ${dir}: KUBECONFIG=${cluster?.kubeconfig}`);
  else if (!tornDown && dir) await down(dir);
  console.log(`[ha] phase durations:\n${phases.summary()}`);
}, 2 * MINUTE);

describe('the HA values on three nodes', () => {
  it('spreads each controller\'s three replicas one per node under the required anti-affinity, with a PodDisruptionBudget each and Fail webhooks', async () => {
    cluster = await phases.run(`cluster up (${NODES} nodes)`, () => startCluster(dir, NODE_WAIT_MS, (l) => console.log(`[ha] cluster: ${l}`), NODES));
    await phases.run('images built and loaded', () => loadNodeImages(cluster, (l) => console.log(`[ha] ${l}`)));
    const certs = await phases.run('certificates', () => makeCertificates(dir));
    // values-ha.yaml as it is: enablePodAntiAffinity stays true.
    await phases.run('helm install with values-ha.yaml', () => installTrellis(cluster, certs, ['-f', join(REPO_ROOT, 'helm/trellis-control-plane/values-ha.yaml')]));
    const cp = await phases.run('HA control plane Ready', () => controlPlaneReady(cluster, 3, 8 * MINUTE));
    console.log(`[ha] kubectl get nodes -o wide:\n${await kubectl(cluster, 'get', 'nodes', '-o', 'wide')}`);
    console.log(`[ha] kubectl get pods -A -o wide:\n${await kubectl(cluster, 'get', 'pods', '-A', '-o', 'wide')}`);
    expect(cp).toHaveLength(9);
    for (const c of CONTROL_PLANE) {
      expect(cp.filter((p) => componentOf(p) === c).map((p) => p.spec.nodeName).sort(), `nodes of ${c}'s replicas`).toEqual(nodeNames(NODES).sort());
    }
    const affinity = JSON.parse(await kubectl(cluster, '-n', TRELLIS_NS, 'get', 'deploy', 'trellis-destination', '-o', 'jsonpath={.spec.template.spec.affinity.podAntiAffinity}')) as Record<string, unknown>;
    expect(Object.keys(affinity)).toContain('requiredDuringSchedulingIgnoredDuringExecution');
    const pdbs = JSON.parse(await kubectl(cluster, '-n', TRELLIS_NS, 'get', 'pdb', '-o', 'json')) as { items: { metadata: { name: string }; spec: { maxUnavailable: number } }[] };
    expect(pdbs.items.map((p) => [p.metadata.name, p.spec.maxUnavailable]).sort()).toEqual([
      ['trellis-dst', 1],
      ['trellis-identity', 1],
      ['trellis-proxy-injector', 1],
    ]);
    const hooks = JSON.parse(await kubectl(cluster, 'get', 'mutatingwebhookconfigurations', '-o', 'json')) as { items: { webhooks: { failurePolicy: string }[] }[] };
    expect(hooks.items.flatMap((h) => h.webhooks.map((w) => w.failurePolicy))).toContain('Fail');
  }, NODE_WAIT_MS + 14 * MINUTE);

  it(`keeps the meshed demo voting and the control plane answering when ${VICTIM} and its pods die`, async () => {
    // The demo runs on the host's node, so the node that dies takes only control-plane replicas with it.
    await phases.run(`demo applied on ${NODE_NAME}, meshed and rolled out`, async () => {
      await kubectl(cluster, 'apply', '-f', DEMO_MANIFESTS);
      const pin = JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': NODE_NAME } } } } });
      for (const d of DEMO_DEPLOYMENTS) await kubectl(cluster, '-n', DEMO_NS, 'patch', 'deploy', d, '-p', pin);
      await kubectl(cluster, '-n', DEMO_NS, 'wait', '--for=condition=Available', 'deploy', '--all', '--timeout=180s');
      await meshDemo(cluster);
      await demoMeshed(cluster, 5 * MINUTE);
    });
    const webIp = (await kubectl(cluster, '-n', DEMO_NS, 'get', 'svc', 'web-svc', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    const before = await until(cluster, 'a vote-bot summary', botCounts, MINUTE);
    const victims = (await pods(cluster, TRELLIS_NS)).filter((p) => p.spec.nodeName === VICTIM);
    expect(victims.map(componentOf).sort()).toEqual([...CONTROL_PLANE].sort());

    await phases.run(`${VICTIM} stopped: kubelet, kube-proxy, containerd and its pods killed`, () => stopNode(dir, VICTIM));
    // Until the node is declared NotReady its pods still count as endpoints; traffic must flow all along.
    const statuses: number[] = [];
    await phases.run(`${VICTIM} NotReady, its pods out of the endpoints`, () =>
      until(cluster, `${VICTIM} NotReady and no Ready endpoint of a control-plane Service on it`, async () => {
        statuses.push((await httpGet(`http://${webIp}/api/list`).catch(() => ({ status: 0 }))).status);
        const node = JSON.parse(await kubectl(cluster, 'get', 'node', VICTIM, '-o', 'json')) as { status: { conditions: { type: string; status: string }[] } };
        if (node.status.conditions.find((c) => c.type === 'Ready')?.status === 'True') return false;
        const slices = JSON.parse(await kubectl(cluster, '-n', TRELLIS_NS, 'get', 'endpointslices', '-o', 'json')) as { items: { endpoints?: { nodeName?: string; conditions?: { ready?: boolean } }[] }[] };
        return !slices.items.some((s) => s.endpoints?.some((e) => e.nodeName === VICTIM && e.conditions?.ready));
      }, 3 * MINUTE),
    );
    // The control plane answers with two replicas each: a new voting pod is injected (proxy-injector), its proxy
    // gets a certificate (identity) and learns its policy and destinations (destination), and it serves.
    await phases.run('a new meshed voting pod Ready on two replicas of each controller', async () => {
      await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'restart', 'deploy/voting');
      await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'status', 'deploy/voting', '--timeout=240s');
      await demoMeshed(cluster, 3 * MINUTE);
    });
    const since = await botCounts();
    await until(cluster, 'vote-bot to vote 10 more times through the new voting pod', async () => ((await botCounts()).ok - since.ok >= 10 ? true : undefined), 2 * MINUTE);
    const after = await botCounts();
    const failedGets = statuses.filter((s) => s !== 200);
    console.log(`[ha] with ${VICTIM} down: ${statuses.length} GETs of web from this host (${statuses.length - failedGets.length} answered 200); vote-bot ${after.ok - before.ok} more ok, ${after.failed - before.failed} more failed (the doughnut), ${after.errors - before.errors} more errors`);
    console.log(`[ha] kubectl get pods -A -o wide after ${VICTIM} died:\n${await kubectl(cluster, 'get', 'pods', '-A', '-o', 'wide')}`);
    expect(failedGets).toEqual([]);
    expect(after.errors).toBe(before.errors);
    expect(after.ok - before.ok).toBeGreaterThanOrEqual(10);
  }, 15 * MINUTE);

  it('tears down with trellis-cluster down: nothing of any node left (containers, netns, veths, bridges, routes, rules, cgroups, mounts, processes)', async () => {
    const recorded = (await readState(dir))!.processes;
    const podNs = await nodePodNetns(dir);
    expect(podNs.length).toBeGreaterThan(0);
    tornDown = true;
    let left: string[] = ['(not checked)'];
    await phases.run('teardown', () =>
      down(dir, { beforeRelease: async () => void (left = [...(await leftovers()), ...(await Promise.all(nodeNames(NODES).map((n) => kubeletNodeLeftovers(dir, n)))).flat()]) }),
    );
    expect(recorded.filter(isOurs).map((p) => p.name)).toEqual([]);
    expect(podNs.filter((ns) => existsSync(`/run/netns/${ns}`))).toEqual([]);
    expect(nodeNames(NODES).filter((n) => n !== NODE_NAME && existsSync(`/run/netns/${n}`))).toEqual([]);
    expect(left).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 2 * MINUTE);
});
