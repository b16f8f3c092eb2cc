// The single-node cluster end to end (needs root): up --node keeps the pod and service ranges on this host, the
// kubelet registers the Node with containerd as its runtime, pods are containers (an init container, a non-root user,
// a readiness probe), a ClusterIP Service reaches the pod, CoreDNS answers cluster.local names and nothing else,
// kubectl logs, exec and port-forward go through the kubelet's API, and down leaves no process, container, network
// namespace, mount, cgroup, bridge or rule behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { down, readState, up, type ClusterState } from '../src/control-plane.ts';
import { isOurs } from '../src/processes.ts';
import { toolPath } from '../src/tools.ts';
import { clusterKubectl } from './cluster-kubectl.ts';
import { FIREWALL_CHAIN, leftovers } from '../src/node-network.ts';
import { NODE_NAME } from '../src/node-name.ts';
import { kubeletNodeLeftovers } from '../src/kubelet/node.ts';
import { BUSYBOX_IMAGE } from '../src/kubelet/local-images.ts';
import { nodePodNetns } from '../src/node-pods.ts';
import { podLogs } from '../src/logs.ts';

const run = promisify(execFile);
let dir: string;
let state: ClusterState;
let stopped = false;

const { kubectl, kubectlInput, until } = clusterKubectl(() => state);

async function httpGet(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

const WEB_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    terminationGracePeriodSeconds: 2,
    securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true },
    initContainers: [{ name: 'page', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo "hello from $(hostname) as $(id -u)" > /www/index.html'], volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
    containers: [
      {
        name: 'httpd',
        image: BUSYBOX_IMAGE,
        command: ['sh', '-c', 'echo serving; exec httpd -f -v -p 8080 -h /www'],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
        volumeMounts: [{ name: 'www', mountPath: '/www' }],
      },
    ],
    volumes: [{ name: 'www', emptyDir: {} }],
  },
};
const WEB_SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-kubelet-test-'));
  // One node cluster per machine: wait for another run's to finish.
  state = await up(dir, { node: true, nodeWaitMs: 900_000 });
}, 1_200_000);

afterAll(async () => {
  if (!stopped && dir) await down(dir);
}, 120_000);

describe('trellis-cluster up --node', () => {
  it('keeps pod and service ranges on this host with a firewall chain hooked first into mangle POSTROUTING', async () => {
    // Checked by reading the rules, never by sending packets towards the outside.
    const rules = (await run('iptables', ['-w', '-t', 'mangle', '-S'])).stdout;
    expect(rules).toContain(`-A ${FIREWALL_CHAIN} -o trellis0 -j RETURN`);
    for (const cidr of ['10.244.0.0/16', '10.96.0.0/16']) {
      for (const dir of ['-s', '-d']) expect(rules).toMatch(new RegExp(`-A ${FIREWALL_CHAIN} ${dir} ${cidr.replace(/[./]/g, '\\$&')} .*-j DROP`));
      expect(rules).toMatch(new RegExp(`-A ${FIREWALL_CHAIN} -m conntrack --ctorigdst ${cidr.replace(/[./]/g, '\\$&')} .*-j DROP`));
    }
    expect((await run('iptables', ['-w', '-t', 'mangle', '-S', 'POSTROUTING'])).stdout.split('\n')[1]).toBe(`-A POSTROUTING -j ${FIREWALL_CHAIN}`);
  });

  it('registers the node with the kubelet\'s version and containerd as its runtime', async () => {
    const wide = await kubectl('get', 'nodes', '-o', 'wide');
    console.log(`[kubelet-node] kubectl get nodes -o wide:\n${wide}`);
    expect(wide).toMatch(new RegExp(`^${NODE_NAME}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.34\\.4\\s+10\\.244\\.0\\.1\\s.*containerd://1\\.`, 'm'));
  });

  it('runs a pod as containers: the init container first, as the pod\'s user, Ready by its probe, reachable by pod IP and ClusterIP', async () => {
    await kubectlInput(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [WEB_POD, WEB_SERVICE] }), 'apply', '-f', '-');
    const pod = await until('the web pod Ready', async () => {
      const p = JSON.parse(await kubectl('get', 'pod', 'web', '-o', 'json'));
      return p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && p;
    }, 90_000);
    expect(pod.status.podIP).toMatch(/^10\.244\.0\.\d+$/);
    expect(pod.status.containerStatuses[0].containerID).toMatch(/^containerd:\/\//);
    expect((await httpGet(`http://${pod.status.podIP}:8080/`)).text).toBe('hello from web as 1000\n');
    const svc = JSON.parse(await kubectl('get', 'svc', 'web', '-o', 'json'));
    // kube-proxy programs the new Service's rules within its sync period.
    const viaService = await until('web through its ClusterIP', () => httpGet(`http://${svc.spec.clusterIP}/`).catch(() => undefined), 30_000);
    expect(viaService.text).toBe('hello from web as 1000\n');
  }, 120_000);

  it('answers cluster.local names from CoreDNS, short names by the pod\'s search path, and nothing else', async () => {
    // busybox's nslookup asks the pod's resolv.conf server (the kubelet's clusterDNS, kube-dns' ClusterIP) and exits 1
    // when any of the names it tried is unknown.
    const web = JSON.parse(await kubectl('get', 'svc', 'web', '-o', 'json')).spec.clusterIP as string;
    const lookup = (name: string) => kubectl('exec', 'web', '-c', 'httpd', '--', 'sh', '-c', `nslookup ${name} 2>&1; echo "exit $?"`);
    const answer = (name: string, ip: string) => new RegExp(`^Name:\\s+${name.replace(/\./g, '\\.')}\\nAddress: ${ip.replace(/\./g, '\\.')}$`, 'm');
    const fqdn = await lookup('web.default.svc.cluster.local');
    expect(fqdn).toMatch(answer('web.default.svc.cluster.local', web));
    expect(fqdn).toMatch(/^exit 0$/m);
    expect(await lookup('kubernetes.default.svc.cluster.local')).toMatch(answer('kubernetes.default.svc.cluster.local', '10.96.0.1'));
    // The short name is found through the first search domain (the other two answer NXDOMAIN, hence exit 1).
    expect(await lookup('web')).toMatch(answer('web.default.svc.cluster.local', web));
    const outside = await lookup('example.com');
    expect(outside).toContain("can't find example.com: NXDOMAIN");
    expect(outside).not.toMatch(/^Address: /m);
    expect(outside).toMatch(/^exit 1$/m);
  }, 60_000);

  it('serves kubectl logs and exec through the kubelet', async () => {
    expect(await kubectl('logs', 'web', '-c', 'httpd')).toContain('serving');
    expect(await podLogs(dir, 'default', 'web', 'httpd')).toContain('serving\n');
    expect((await kubectl('exec', 'web', '-c', 'httpd', '--', 'id', '-u')).trim()).toBe('1000');
    expect(await kubectl('exec', 'web', '-c', 'httpd', '--', 'cat', '/www/index.html')).toBe('hello from web as 1000\n');
  }, 60_000);

  it('forwards a local port to the pod with kubectl port-forward', async () => {
    const child = spawn(await toolPath('kubectl'), ['port-forward', 'svc/web', ':80', '--address', '127.0.0.1'], { env: { ...process.env, KUBECONFIG: state.kubeconfig } });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const port = await until('kubectl port-forward to listen', async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 30_000);
      const r = await httpGet(`http://127.0.0.1:${port}/index.html`);
      console.log(`[kubelet-node] kubectl port-forward svc/web :80\n${out.trim()}\nGET http://127.0.0.1:${port}/index.html -> ${r.status} ${r.text.trim()}`);
      expect(r).toEqual({ status: 200, text: 'hello from web as 1000\n' });
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);

  it('down stops every process and leaves no container, network namespace, mount, cgroup, bridge or rule', async () => {
    const recorded = (await readState(dir))!.processes;
    const podNs = await nodePodNetns(dir);
    expect(podNs.length).toBeGreaterThan(0);
    const shims = (await run('pgrep', ['-f', `containerd-shim-runc-v2.*${dir}`]).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
    stopped = true;
    let left: string[] = ['(not checked)'];
    await down(dir, { beforeRelease: async () => void (left = [...(await leftovers()), ...(await kubeletNodeLeftovers(dir, NODE_NAME))]) });
    expect(recorded.filter(isOurs).map((p) => p.name)).toEqual([]);
    expect(shims.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(podNs.filter((ns) => existsSync(`/run/netns/${ns}`))).toEqual([]);
    expect(left).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});
