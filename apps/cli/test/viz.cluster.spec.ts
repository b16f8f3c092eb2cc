// `trellis viz stat` and `diagnostics proxy-metrics` against a real API server. The shared test cluster runs no
// pods (no node), so this covers resolving workloads to pods and the unmeshed case; reading live proxies through
// the API server's pod proxy is covered by the end-to-end test on the node cluster.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const ns = `trellis-viz-${randomBytes(3).toString('hex')}`;
/** Without the viz extension the command says so, then reads the proxies (another suite may have a Service there). */
const FALLBACK = /^trellis viz stat: (viz is not installed \(no Service trellis-viz\/metrics-api\)|the metrics API did not answer .*); reading each proxy directly over 1s instead\n$/;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

const deployment = (name: string, replicas: number) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }] } } },
  });

beforeAll(async () => {
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  for (const [name, n] of [['web', 2], ['emoji', 1]] as const) expect((await kubectl(['apply', '-f', '-'], deployment(name, n))).stderr).toBe('');
  // Pods come from the controller-manager; wait until the ReplicaSets made them.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pods = JSON.parse((await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])).stdout).items.length;
    if (pods === 3) break;
    if (Date.now() > deadline) throw new Error(`expected 3 pods in ${ns}, have ${pods}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis viz stat', () => {
  it('lists each Deployment with its pods counted and no traffic columns while nothing is meshed', async () => {
    const r = await trellis('viz', 'stat', 'deploy', '-n', ns, '-t', '1s');
    expect(r.err).toMatch(FALLBACK);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'NAME    MESHED   SUCCESS   RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN',
        'emoji      0/1         -     -             -             -             -          -',
        'web        0/2         -     -             -             -             -          -',
        '',
      ].join('\n'),
    );
    const one = await trellis('stat', 'deploy/web', '-n', ns, '-t', '1s', '-o', 'json');
    expect(JSON.parse(one.out)).toEqual([{ name: 'web', meshed: 0, pods: 2 }]);
  }, 30_000);

  it('says when there is nothing of that type, and rejects bad resources and windows naming them', async () => {
    const none = await trellis('viz', 'stat', 'sts', '-n', ns, '-t', '1s');
    expect(none.code).toBe(0);
    expect(none.out).toBe('');
    expect(none.err.split('\n').slice(1).join('\n')).toBe(`No resources of type statefulset found in namespace ${ns}.\n`);
    expect((await trellis('viz', 'stat', 'svc/web', '-n', ns)).err).toMatch(/trellis viz stat: invalid resource "svc\/web": expected TYPE or TYPE\/NAME with TYPE one of deploy, sts, ds, po\n$/);
    expect((await trellis('viz', 'stat', 'deploy', '--to', 'deploy/web', '-n', ns)).err).toMatch(/^trellis viz stat: --to needs the viz extension's metrics API, and (viz is not installed|the metrics API did not answer).*: trellis viz install \| kubectl apply -f -\n$/);
    expect((await trellis('viz', 'stat', 'deploy', '-t', '100ms')).err).toBe('trellis viz stat: invalid value "100ms" for --time-window: at least 1s\n');
    expect((await trellis('viz', 'stat')).err).toBe('trellis viz stat: expected one resource (e.g. deploy or deploy/web), got 0\n');
    const missing = await trellis('viz', 'stat', 'deploy/nope', '-n', ns, '-t', '1s');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/trellis viz stat: deployments.apps "nope" not found \(HTTP 404\)\n$/);
  }, 30_000);
});

describe('trellis diagnostics controller-metrics', () => {
  it('says so when no control-plane pod runs in the namespace', async () => {
    expect(await trellis('diagnostics', 'controller-metrics', '-L', ns)).toEqual({ code: 1, out: '', err: `trellis diagnostics controller-metrics: no running control-plane pod with an admin port in ${ns}\n` });
  }, 30_000);
});

describe('trellis diagnostics proxy-metrics', () => {
  it('fails with a clear message when the resource has no meshed pod', async () => {
    expect(await trellis('diagnostics', 'proxy-metrics', 'deploy/web', '-n', ns)).toEqual({ code: 1, out: '', err: `trellis diagnostics proxy-metrics: no meshed pods with a ready proxy for deploy/web in ${ns}\n` });
    expect((await trellis('diagnostics', 'proxy-metrics', 'deploy', '-n', ns)).err).toBe('trellis diagnostics proxy-metrics: name the resource: deployment/NAME\n');
  }, 30_000);
});
