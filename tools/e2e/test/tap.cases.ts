// Live requests on the demo: `trellis viz tap` and `trellis viz top`, as the seeds type them, for the journey to
// call after the viz extension is installed (each function asserts what a user would see and returns the
// transcript it printed):
//
//   helm install trellis-control-plane ... ...TAP_IDENTITY_SET        // proxies open their tap port for the tap API
//   const viz = await vizInstallCase(cluster, TRELLIS_CLI, dir);      // viz-cli.cases.ts: tap Deployment included
//   await tapReadyCase(cluster);                                      // APIService Available, demo proxies tappable
//   await tapWebCase(cluster, TRELLIS_CLI);                           // req/rsp/end of /api/vote with tls=true
//   await topVotingCase(cluster, TRELLIS_CLI);                        // the doughnut's path below 100 %
//
// Proxies serve taps only when told the tap identity (LINKERD2_PROXY_TAP_SVC_NAME); Trellis gives it through the
// core injector's proxy.additionalEnv, so the control plane must be installed (or upgraded, then the demo
// restarted) with TAP_IDENTITY_SET. The admin kubeconfig the journey uses holds the tap RBAC (system:masters).
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { DEMO_NS, TRELLIS_NS } from '../src/journey.ts';
import { kubectl, until, type Cluster } from '../src/kube.ts';

const VIZ_NS = 'trellis-viz';
const MINUTE = 60_000;
const say = (line: string) => console.log(`[e2e] ${line}`);

/** The tap controller's identity in the demo's trust domain. */
export const TAP_IDENTITY = `tap.${VIZ_NS}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`;

/** `helm install trellis-control-plane` arguments that give every injected proxy the tap identity. */
export const TAP_IDENTITY_SET: readonly string[] = ['--set', 'proxy.additionalEnv[0].name=LINKERD2_PROXY_TAP_SVC_NAME', '--set', `proxy.additionalEnv[0].value=${TAP_IDENTITY}`];

/**
 * Runs `trellis ARGS` until `enough(stdout)` holds (then interrupts it, as a user's Ctrl-C) or `timeoutMs` passes;
 * resolves with what it printed, rejects with stderr when it failed on its own.
 */
function trellisUntil(cluster: Cluster, cli: string, args: readonly string[], enough: (out: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args, '--kubeconfig', cluster.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      child.kill('SIGINT');
    };
    const timer = setTimeout(stop, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (enough(out)) stop();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!stopped && code !== 0) reject(new Error(`trellis ${args.join(' ')} exited ${code}:\n${err}${out.slice(-2000)}`));
      else resolve(out);
    });
  });
}

type Container = { name: string; env?: { name: string; value?: string }[] };

/** The tap API is registered and available, and the demo's proxies carry the tap identity. */
export async function tapReadyCase(cluster: Cluster): Promise<void> {
  await until(
    cluster,
    'APIService v1alpha1.tap.linkerd.io Available',
    async () => (await kubectl(cluster, 'get', 'apiservice', 'v1alpha1.tap.linkerd.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}')) === 'True',
    2 * MINUTE,
  );
  // The proxy is a native sidecar (an init container) or a regular container, depending on the injector's values.
  const web = JSON.parse(await kubectl(cluster, '-n', DEMO_NS, 'get', 'pods', '-l', 'app=web-svc', '-o', 'json')) as { items: { spec: { containers: Container[]; initContainers?: Container[] } }[] };
  const env = web.items.flatMap((p) => [...(p.spec.initContainers ?? []), ...p.spec.containers]).filter((c) => c.name === 'linkerd-proxy').flatMap((c) => c.env ?? []).filter((e) => e.name === 'LINKERD2_PROXY_TAP_SVC_NAME').map((e) => e.value).join(' ');
  expect(env, 'web pods were injected without the tap identity: install the control plane with TAP_IDENTITY_SET and restart the demo').toContain(TAP_IDENTITY);
}

type TapLine = { kind: string; id: string; tls: string; rest: string };
const parseLine = (l: string): TapLine | undefined => {
  const m = /^(req|rsp|end) id=(\d+:\d+) proxy=(?:in |out) src=\S+ dst=\S+ tls=(\S*) (.*)$/.exec(l);
  return m ? { kind: m[1] as string, id: m[2] as string, tls: m[3] as string, rest: m[4] as string } : undefined;
};

/** `trellis viz tap deploy/web -n emojivoto`: req, rsp and end of one /api/vote request, mTLS from vote-bot. */
export async function tapWebCase(cluster: Cluster, cli: string): Promise<string> {
  const complete = (out: string) => {
    const lines = out.split('\n').map(parseLine).filter((x): x is TapLine => x !== undefined);
    const req = lines.find((l) => l.kind === 'req' && l.rest.includes(':path=/api/vote') && l.tls === 'true');
    return req !== undefined && lines.some((l) => l.kind === 'end' && l.id === req.id);
  };
  const out = await trellisUntil(cluster, cli, ['viz', 'tap', 'deploy/web', '-n', DEMO_NS], complete, 2 * MINUTE);
  say(`trellis viz tap deploy/web -n ${DEMO_NS}:\n${out.split('\n').slice(0, 30).join('\n')}`);
  expect(complete(out), `no complete /api/vote request with tls=true in:\n${out.slice(-3000)}`).toBe(true);
  const lines = out.split('\n').map(parseLine).filter((x): x is TapLine => x !== undefined);
  const req = lines.find((l) => l.kind === 'req' && l.rest.includes(':path=/api/vote') && l.tls === 'true') as TapLine;
  const rsp = lines.find((l) => l.kind === 'rsp' && l.id === req.id);
  const end = lines.find((l) => l.kind === 'end' && l.id === req.id);
  expect(req.rest).toMatch(/^:method=GET :authority=\S+ :path=\/api\/vote(\?\S*)?$/);
  expect(rsp?.rest).toMatch(/^:status=\d{3} latency=\d+µs$/);
  expect(end?.rest).toMatch(/duration=\d+µs response-length=\d+B$/);
  return out;
}

/**
 * `trellis viz top deploy/voting -n emojivoto` with stdout not a terminal: the table printed once per interval. The
 * demo's voting service fails every doughnut vote, so its Vote path shows a success rate below 100 %.
 */
export async function topVotingCase(cluster: Cluster, cli: string): Promise<string> {
  // The demo's voting service has one Vote method; the doughnut is a choice in its request, and fails.
  const doughnut = /^.*\/trellis\.demo\.v1\.VotingService\/Vote\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(\d+\.\d\d)%$/m;
  const out = await trellisUntil(cluster, cli, ['viz', 'top', 'deploy/voting', '-n', DEMO_NS, '--interval', '5s', '--duration', '90s'], (o) => doughnut.test(o), 2 * MINUTE);
  const tables = out.trim().split('\n\n');
  const last = tables.at(-1) ?? '';
  say(`trellis viz top deploy/voting -n ${DEMO_NS} (plain, last table):\n${last}`);
  expect(last.split('\n')[0]).toMatch(/^Source\s+Destination\s+Method\s+Path\s+Count\s+Best\s+Worst\s+Last\s+Success Rate$/);
  const m = doughnut.exec(out);
  expect(m, `no VotingService/Vote row in:\n${out.slice(-3000)}`).not.toBeNull();
  expect(Number(m?.[2])).toBeLessThan(100);
  return out;
}
