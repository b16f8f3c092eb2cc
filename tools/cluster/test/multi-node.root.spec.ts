// Three nodes on this one machine (needs root): `up --node --nodes 3` runs trellis-node on the host and trellis-node-2
// and -3 each in a network namespace of that name with its own containerd, kubelet and kube-proxy. Each registers
// Ready at its own address, pods get addresses from their node's /24, every pod reaches every other pod, a Service
// and the cluster DNS from any node, kubectl logs and exec reach a pod on a namespaced node, and down removes every
// node's namespace, veth, route, containers, mounts and cgroups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { down, readState, up, type ClusterState } from '../src/control-plane.ts';
import { isOurs } from '../src/processes.ts';
import { clusterKubectl } from './cluster-kubectl.ts';
import { FIREWALL_CHAIN, leftovers } from '../src/node-network.ts';
import { nodeNames } from '../src/node-name.ts';
import { kubeletNodeLeftovers } from '../src/kubelet/node.ts';
import { BUSYBOX_IMAGE } from '../src/kubelet/local-images.ts';
import { nodePodNetns } from '../src/node-pods.ts';

const run = promisify(execFile);
const NODES = nodeNames(3);
let dir: string;
let state: ClusterState;
let stopped = false;

const { kubectl, kubectlInput, until } = clusterKubectl(() => state);

/** An httpd pod on one node that serves its node's name. */
const webPod = (node: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `web-${node}`, namespace: 'default', labels: { app: `web-${node}` } },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'httpd', image: BUSYBOX_IMAGE, command: ['sh', '-c', `mkdir -p /www && echo ${node} > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www`], ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 } }],
  },
});

/** GET / from inside a pod with busybox nc (an HTTP/1.0 request): the body's last line. */
const getFrom = async (pod: string, host: string, port: number) =>
  (await kubectl('exec', pod, '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} ${port} | tail -1`)).trim();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-multinode-test-'));
  // One node cluster per machine: wait for another run's to finish.
  state = await up(dir, { node: true, nodes: 3, nodeWaitMs: 900_000 });
}, 1_200_000);

afterAll(async () => {
  if (!stopped && dir) await down(dir);
}, 120_000);

describe('trellis-cluster up --node --nodes 3', () => {
  it('registers three Ready nodes, each at its own address with containerd as its runtime', async () => {
    const wide = await kubectl('get', 'nodes', '-o', 'wide');
    console.log(`[multi-node] kubectl get nodes -o wide:\n${wide}`);
    for (const [node, ip] of [[NODES[0], '10\\.244\\.0\\.1'], [NODES[1], '10\\.243\\.2\\.2'], [NODES[2], '10\\.243\\.3\\.2']] as const) {
      expect(wide).toMatch(new RegExp(`^${node}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.34\\.4\\s+${ip}\\s.*containerd://1\\.`, 'm'));
    }
    // The veths to the namespaced nodes may carry the pod range; every other interface still may not.
    expect((await run('iptables', ['-w', '-t', 'mangle', '-S', FIREWALL_CHAIN])).stdout).toContain(`-A ${FIREWALL_CHAIN} -o trellis-v+ -j RETURN`);
  });

  it('runs pods on every node, each reachable from every node, from this host, through a Service and by DNS', async () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web3', namespace: 'default' }, spec: { selector: { app: `web-${NODES[2]}` }, ports: [{ port: 80, targetPort: 'http' }] } };
    await kubectlInput(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...NODES.map(webPod), service] }), 'apply', '-f', '-');
    const ips = await until('a Ready web pod on each node', async () => {
      const items = (JSON.parse(await kubectl('get', 'pods', '-o', 'json')) as { items: { metadata: { name: string }; spec: { nodeName: string }; status: { podIP?: string; conditions?: { type: string; status: string }[] } }[] }).items;
      const ready = items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === NODES.length && NODES.map((n) => ready.find((p) => p.spec.nodeName === n)?.status.podIP ?? '');
    }, 90_000);
    expect(ips.map((ip) => ip.split('.').slice(0, 3).join('.'))).toEqual(['10.244.0', '10.244.1', '10.244.2']);
    for (const from of NODES) {
      for (const [i, to] of NODES.entries()) expect(await getFrom(`web-${from}`, ips[i]!, 8080), `${from} -> pod on ${to}`).toBe(to);
    }
    for (const [i, to] of NODES.entries()) expect((await (await fetch(`http://${ips[i]}:8080/`, { signal: AbortSignal.timeout(5000) })).text()).trim(), `host -> pod on ${to}`).toBe(to);
    // web3 (its pod on the third node) by name from the second node: CoreDNS on the host, kube-proxy in the node's namespace.
    const viaService = await until('web3 by name from the second node', async () => (await getFrom(`web-${NODES[1]}`, 'web3.default.svc.cluster.local', 80).catch(() => '')) === NODES[2], 30_000);
    expect(viaService).toBe(true);
    expect(await kubectl('exec', `web-${NODES[2]}`, '--', 'nslookup', 'kubernetes.default.svc.cluster.local')).toMatch(/^Address: 10\.96\.0\.1$/m);
  }, 180_000);

  it('serves kubectl logs and exec of a pod on a namespaced node through its kubelet', async () => {
    expect(await kubectl('logs', `web-${NODES[2]}`)).toContain('serving');
    expect((await kubectl('exec', `web-${NODES[2]}`, '--', 'cat', '/www/index.html')).trim()).toBe(NODES[2]);
  }, 60_000);

  it('down removes every node: no process, container, network namespace, veth, route, bridge, rule, mount or cgroup left', async () => {
    const recorded = (await readState(dir))!.processes;
    const podNs = await nodePodNetns(dir);
    expect(podNs.length).toBe(NODES.length);
    stopped = true;
    let left: string[] = ['(not checked)'];
    await down(dir, { beforeRelease: async () => void (left = [...(await leftovers()), ...(await Promise.all(NODES.map((n) => kubeletNodeLeftovers(dir, n)))).flat()]) });
    expect(recorded.filter(isOurs).map((p) => p.name)).toEqual([]);
    expect(podNs.filter((ns) => existsSync(`/run/netns/${ns}`))).toEqual([]);
    expect(NODES.filter((n) => existsSync(`/run/netns/${n}`))).toEqual([]);
    expect(left).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});
