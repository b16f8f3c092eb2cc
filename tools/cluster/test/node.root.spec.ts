// The single-node cluster end to end (needs root: network namespaces, a bridge, iptables): up --node, the demo app
// Ready with its traffic flowing through ClusterIP Services and cluster DNS, pods replaced after deletion, a pod
// exercising init containers, a native sidecar, env, volumes and tokens, and a down that leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { down, readState, up, type ClusterState } from '../src/control-plane.ts';
import { isOurs } from '../src/processes.ts';
import { nodeClusterSnapshot, pollUntil } from '../src/poll.ts';
import { toolPath, REPO_ROOT } from '../src/tools.ts';
import { FIREWALL_CHAIN, leftovers } from '../src/node-agent/network.ts';
import { podLogs } from '../src/logs.ts';

const run = promisify(execFile);
let dir: string;
let state: ClusterState;
let stopped = false;

async function kubectl(...args: string[]): Promise<string> {
  const r = await run(await toolPath('kubectl'), args, { env: { ...process.env, KUBECONFIG: state.kubeconfig }, maxBuffer: 16 << 20 });
  return r.stdout;
}

async function kubectlInput(input: string, ...args: string[]): Promise<string> {
  const bin = await toolPath('kubectl');
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { env: { ...process.env, KUBECONFIG: state.kubeconfig } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl JSON
type Pod = any;

async function pods(ns: string, selector?: string): Promise<Pod[]> {
  return JSON.parse(await kubectl('-n', ns, 'get', 'pods', '-o', 'json', ...(selector ? ['-l', selector] : []))).items;
}

const isReady = (p: Pod) => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> =>
  pollUntil(what, probe, timeoutMs, () => nodeClusterSnapshot(dir, kubectl));

async function httpGet(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-node-test-'));
  // One node cluster per machine: wait for another run's (the end-to-end tests') to finish.
  state = await up(dir, { node: true, nodeWaitMs: 600_000 });
}, 900_000);

afterAll(async () => {
  if (!stopped && dir) await down(dir);
  // The features pod's mount points were created on the host (empty directories under /run).
  await rm('/var/run/trellis-test', { recursive: true, force: true });
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

  it('registers a Ready node and runs the demo app with every pod Ready', async () => {
    expect(await kubectl('get', 'nodes')).toMatch(/trellis-node\s+Ready/);
    await kubectl('apply', '-f', join(REPO_ROOT, 'tools/demo/manifests/emojivoto.yml'));
    const ready = await until('4 Ready demo pods', async () => {
      const ps = await pods('emojivoto');
      return ps.length === 4 && ps.every(isReady) && ps;
    }, 120_000);
    for (const p of ready) expect(p.status.podIP).toMatch(/^10\.244\.0\.\d+$/);
  }, 180_000);

  it('carries vote-bot traffic to web, emoji and voting through ClusterIP Services found by DNS', async () => {
    // vote-bot only knows web-svc.emojivoto:80, web only emoji-svc/voting-svc.emojivoto:8080: a success needs DNS and kube-proxy.
    const summary = await until('vote-bot to report successful votes', async () => {
      const [bot] = await pods('emojivoto', 'app=vote-bot-svc');
      const logs = await podLogs(dir, 'emojivoto', bot.metadata.name, 'vote-bot');
      const m = /(\d+) votes: (\d+) ok, (\d+) failed/.exec(logs.split('\n').filter(Boolean).reverse().find((l) => /votes:/.test(l)) ?? '');
      return m !== null && Number(m[2]) > 0 && Number(m[3]) > 0 && { ok: Number(m[2]), failed: Number(m[3]) };
    }, 60_000);
    expect(summary.ok).toBeGreaterThan(0);
    // kubectl logs works too: API server -> the node agent's log endpoint.
    const [bot] = await pods('emojivoto', 'app=vote-bot-svc');
    expect(await kubectl('-n', 'emojivoto', 'logs', bot.metadata.name, '--tail=1')).toMatch(/^vote-bot: \d+ votes: /);
    // The doughnut's failures reach the voting service itself.
    const [voting] = await pods('emojivoto', 'app=voting-svc');
    const metrics = (await httpGet(`http://${voting.status.podIP}:8801/metrics`)).text;
    expect(metrics).toMatch(/votes_total\{result="success"\} [1-9]/);
    expect(metrics).toMatch(/votes_total\{result="failure"\} [1-9]/);
    // The host reaches web through its ClusterIP too (kube-proxy's OUTPUT rules).
    const svc = JSON.parse(await kubectl('-n', 'emojivoto', 'get', 'svc', 'web-svc', '-o', 'json'));
    const board = await httpGet(`http://${svc.spec.clusterIP}/api/leaderboard`);
    expect(board.status).toBe(200);
    expect(JSON.parse(board.text).length).toBeGreaterThan(0);
  }, 90_000);

  it('replaces a deleted pod and removes the old one\'s namespace', async () => {
    const [old] = await pods('emojivoto', 'app=web-svc');
    const before = await readdir('/run/netns');
    const oldNs = before.find((n) => n === `trellis-pod-${old.metadata.uid.replace(/-/g, '').slice(0, 12)}`);
    expect(oldNs).toBeDefined();
    await kubectl('-n', 'emojivoto', 'delete', 'pod', old.metadata.name, '--wait=true', '--timeout=60s');
    const fresh = await until('a new Ready web pod', async () => {
      const ps = (await pods('emojivoto', 'app=web-svc')).filter((p: Pod) => p.metadata.uid !== old.metadata.uid);
      return ps.length === 1 && isReady(ps[0]) && ps[0];
    }, 60_000);
    expect(fresh.metadata.name).not.toBe(old.metadata.name);
    expect(existsSync(`/run/netns/${oldNs}`)).toBe(false);
  }, 90_000);

  it('runs init containers in order, a native sidecar before the app, with env, user, volumes and a projected token', async () => {
    await kubectlInput(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'feature-cfg', namespace: 'default' }, data: { greeting: 'hello' } },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'features', namespace: 'default', labels: { app: 'features' } },
            spec: {
              terminationGracePeriodSeconds: 2,
              initContainers: [
                { name: 'first', image: 'busybox', command: ['sh', '-c', 'umask 0; echo first > /var/run/trellis-test/work/order'], volumeMounts: [{ name: 'work', mountPath: '/var/run/trellis-test/work' }] },
                {
                  name: 'sidecar', image: 'busybox', restartPolicy: 'Always',
                  command: ['sh', '-c', 'echo sidecar >> /var/run/trellis-test/work/order; exec sleep 1000'],
                  readinessProbe: { exec: { command: ['test', '-f', '/var/run/trellis-test/work/order'] }, periodSeconds: 1 },
                  volumeMounts: [{ name: 'work', mountPath: '/var/run/trellis-test/work' }],
                },
              ],
              containers: [
                {
                  name: 'main', image: 'busybox', workingDir: '/var/run/trellis-test/work',
                  command: ['sh', '-c', 'echo main >> order; env > env; id -u > uid; hostname > host; cat /var/run/trellis-test/cfg/greeting > cfg; cat /var/run/secrets/tokens/tok > tok; exec sleep 1000'],
                  env: [
                    { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'MY_ADDR', value: '$(MY_POD)@$(MY_IP)' },
                    { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  ],
                  securityContext: { runAsUser: 1000, runAsGroup: 1000 },
                  readinessProbe: { exec: { command: ['test', '-f', '/var/run/trellis-test/work/tok'] }, periodSeconds: 1 },
                  volumeMounts: [
                    { name: 'work', mountPath: '/var/run/trellis-test/work' },
                    { name: 'cfg', mountPath: '/var/run/trellis-test/cfg', readOnly: true },
                    { name: 'tokens', mountPath: '/var/run/secrets/tokens', readOnly: true },
                  ],
                },
                { name: 'unmapped', image: 'nginx:1.27' },
              ],
              volumes: [
                { name: 'work', emptyDir: {} },
                { name: 'cfg', configMap: { name: 'feature-cfg' } },
                { name: 'tokens', projected: { sources: [{ serviceAccountToken: { audience: 'test.trellis.io', expirationSeconds: 600, path: 'tok' } }] } },
              ],
            },
          },
        ],
      }),
      'apply', '-f', '-',
    );
    const pod = await until('the features pod to run main and report the unmapped image', async () => {
      const [p] = await pods('default', 'app=features');
      const st = (name: string) => p?.status?.containerStatuses?.find((c: { name: string }) => c.name === name);
      return st('main')?.ready && st('unmapped')?.state?.waiting && p;
    }, 60_000);
    expect(pod.status.containerStatuses.find((c: { name: string }) => c.name === 'unmapped').state.waiting).toMatchObject({ reason: 'ErrImageNotMapped', message: expect.stringContaining('nginx:1.27') });
    expect(pod.status.initContainerStatuses.map((c: { name: string; ready: boolean }) => [c.name, c.ready])).toEqual([['first', false], ['sidecar', true]]);
    const work = join(dir, 'pods', `default_features_${pod.metadata.uid}`, 'volumes', 'work');
    expect(await readFile(join(work, 'order'), 'utf8')).toBe('first\nsidecar\nmain\n');
    expect((await readFile(join(work, 'uid'), 'utf8')).trim()).toBe('1000');
    expect((await readFile(join(work, 'host'), 'utf8')).trim()).toBe('features');
    expect(await readFile(join(work, 'cfg'), 'utf8')).toBe('hello');
    const env = await readFile(join(work, 'env'), 'utf8');
    expect(env).toContain(`MY_ADDR=features@$(MY_IP)\n`);
    expect(env).toContain(`MY_IP=${pod.status.podIP}\n`);
    expect(env).toContain('KUBERNETES_SERVICE_HOST=10.96.0.1\n');
    const claims = JSON.parse(Buffer.from((await readFile(join(work, 'tok'), 'utf8')).split('.')[1]!, 'base64url').toString());
    expect(claims.aud).toEqual(['test.trellis.io']);
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims['kubernetes.io'].pod.name).toBe('features');
    expect(await kubectl('delete', 'pod', 'features', '--wait=true', '--timeout=60s')).toContain('deleted');
  }, 120_000);

  it('lets a pod reach the API server as kubernetes.default.svc with its automounted token, and restarts a crashing container with back-off', async () => {
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    await kubectlInput(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1', kind: 'Pod', metadata: { name: 'apicheck', namespace: 'default' },
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'curl', image: 'busybox', command: ['sh', '-c', `curl -sS -w '\\nstatus %{http_code}\\n' --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" https://kubernetes.default.svc/api/v1/namespaces/$(cat ${sa}/namespace)/pods/apicheck`] }],
            },
          },
          {
            apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crasher', namespace: 'default' },
            spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'crash', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 3'] }] },
          },
        ],
      }),
      'apply', '-f', '-',
    );
    // The pod's own default service account may not read pods: a 403 from the API server proves the whole path
    // (DNS name, ClusterIP to the API server, TLS with the cluster CA, the token authenticated as the pod's account).
    const check = await until('apicheck to finish', async () => {
      const [p] = (await pods('default')).filter((x: Pod) => x.metadata.name === 'apicheck');
      return p && ['Succeeded', 'Failed'].includes(p.status.phase) && p;
    }, 60_000);
    const out = await podLogs(dir, 'default', 'apicheck', 'curl');
    expect(out).toContain('status 403');
    expect(out).toContain('system:serviceaccount:default:default');
    expect(check.status.phase).toBe('Succeeded');
    expect(check.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const crasher = await until('crasher to be restarted once', async () => {
      const [p] = (await pods('default')).filter((x: Pod) => x.metadata.name === 'crasher');
      return p?.status?.containerStatuses?.[0]?.restartCount >= 1 && p;
    }, 60_000);
    expect(crasher.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(await podLogs(dir, 'default', 'crasher', 'crash')).toMatch(/^boom\nboom\n/);
    await kubectl('delete', 'pod', 'apicheck', 'crasher', '--wait=true', '--timeout=60s');
  }, 150_000);

  it('answers cluster.local names from CoreDNS and nothing else, and SIGKILLs a container that ignores SIGTERM after the grace period', async () => {
    await kubectlInput(
      JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stubborn', namespace: 'default' },
        spec: {
          terminationGracePeriodSeconds: 3,
          containers: [{
            name: 'c', image: 'busybox',
            command: ['sh', '-c', 'getent hosts web-svc.emojivoto.svc.cluster.local; getent hosts web-svc.emojivoto || echo short-name-failed; getent hosts example.com || echo outside-name-unknown; trap "" TERM; echo ignoring-sigterm; while :; do sleep 1; done'],
          }],
        },
      }),
      'apply', '-f', '-',
    );
    const web = JSON.parse(await kubectl('-n', 'emojivoto', 'get', 'svc', 'web-svc', '-o', 'json')).spec.clusterIP as string;
    const out = await until('stubborn to print its lookups', async () => {
      const text = await podLogs(dir, 'default', 'stubborn', 'c').catch(() => '');
      return text.includes('ignoring-sigterm') && text;
    }, 60_000);
    expect(out).toMatch(new RegExp(`^${web.replace(/\./g, '\\.')}\\s+web-svc\\.emojivoto\\.svc\\.cluster\\.local$`, 'm'));
    expect(out).not.toContain('short-name-failed');
    expect(out).toContain('outside-name-unknown');
    const t0 = Date.now();
    await kubectl('delete', 'pod', 'stubborn', '--wait=true', '--timeout=60s');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(2500);
    expect(took).toBeLessThan(20_000);
  }, 120_000);

  it('down removes namespaces, bridge, iptables rules and every process', async () => {
    const recorded = (await readState(dir))!.processes;
    stopped = true;
    let left: string[] = ['(not checked)'];
    await down(dir, { beforeRelease: async () => void (left = await leftovers()) });
    expect(recorded.filter(isOurs).map((p) => p.name)).toEqual([]);
    expect(left).toEqual([]);
  }, 120_000);
});
