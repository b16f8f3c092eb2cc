// The cluster-network and data-plane annotation checks of `trellis check` against a real API server: Services get
// real ClusterIPs; pods (which never start here: no node) carry the labels and annotations the checks read.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { annotationsCheck } from './check-helpers.ts';
import { dataPlaneAnnotationChecks } from '../src/check/annotations.ts';
import { Cluster } from '../src/check/cluster.ts';
import { CheckContext } from '../src/check/context.ts';
import { clusterNetworkChecks } from '../src/check/networks.ts';
import { loadCluster } from '../src/cluster/kubeconfig.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
// The shared API server holds other tests' Services, and the check names only the first ten outside the networks
// (by namespace, then name): this namespace sorts before every other so that its Service is among them.
const ns = `aaa-trellis-dp-${suffix}`;
const cp = `trellis-cp-${suffix}`;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }));
    child.stdin?.end(stdin);
  });
}

const obj = (o: object) => JSON.stringify(o);
const meta = (name: string, extra: object = {}) => ({ name, namespace: ns, ...extra });
const pod = (name: string, app: string, labels: Record<string, string>, annotations: Record<string, string>, ports: { name: string; containerPort: number }[]) =>
  obj({ apiVersion: 'v1', kind: 'Pod', metadata: meta(name, { labels: { app, 'linkerd.io/control-plane-ns': cp, ...labels }, annotations }), spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0', ports }] } });
const service = (name: string, app: string, labels: Record<string, string>, annotations: Record<string, string>, ports: { name: string; port: number; targetPort: number | string }[]) =>
  obj({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, { labels, annotations }), spec: { selector: { app }, ports } });

function context(values: Record<string, unknown>): CheckContext {
  const ctx = new CheckContext({ controlPlaneNamespace: cp, dataPlaneNamespace: ns, cliVersion: '0.1.0', kubeconfig });
  ctx.cluster = new Cluster(loadCluster({ kubeconfig }));
  ctx.values = values;
  return ctx;
}

beforeAll(async () => {
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  for (const o of [
    // db: the Service says 5432 and 6000 are opaque; the pod agrees on 5432 (by name) but not 6000.
    pod('db-0', 'db', {}, { 'config.linkerd.io/opaque-ports': 'pg' }, [{ name: 'pg', containerPort: 5432 }, { name: 'other', containerPort: 6000 }]),
    service('db', 'db', {}, { 'config.linkerd.io/opaque-ports': '5432,6000' }, [{ name: 'pg', port: 5432, targetPort: 'pg' }, { name: 'other', port: 6000, targetPort: 6000 }]),
    // web: a config annotation set as a label on the pod and the Service, and a pod-only annotation on the Service.
    pod('web-0', 'web', { 'config.linkerd.io/skip-inbound-ports': '9000' }, {}, [{ name: 'http', containerPort: 8080 }]),
    service('web', 'web', { 'linkerd.io/inject': 'enabled' }, { 'config.linkerd.io/proxy-cpu-limit': '1', 'config.linkerd.io/opaque-ports': '' }, [{ name: 'http', port: 80, targetPort: 8080 }]),
  ]) {
    expect((await kubectl(['apply', '-f', '-'], o)).stderr).toBe('');
  }
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis check: cluster networks', () => {
  it('passes when the networks hold every Service IP, and names the Services outside them', async () => {
    const services = clusterNetworkChecks.find((c) => c.description === 'cluster networks contains all services');
    expect(services).toBeDefined();
    expect(await services?.run(context({ clusterNetworks: '0.0.0.0/0,::/0' }))).toEqual({ status: 'ok' });
    const narrow = await services?.run(context({ clusterNetworks: '192.0.2.0/24' }));
    expect(narrow?.status).toBe('warn');
    expect(narrow?.message).toMatch(/^outside the cluster networks:\n/);
    expect(narrow?.message).toMatch(new RegExp(`service/db \\(${ns}\\): \\d+\\.\\d+\\.\\d+\\.\\d+`));
    expect(narrow?.hint).toContain('trellis upgrade --set clusterNetworks=');
  });
});

describe('trellis check: data plane annotations', () => {
  it('warns about config keys set as labels, pod-only annotations on Services, and opaque ports the two sides disagree on', async () => {
    const results = await annotationsCheck(dataPlaneAnnotationChecks, context({}));
    expect(results).toEqual({
      'data plane pod labels are configured correctly': `labels that Trellis reads only as annotations:\npod/web-0 (${ns}): label config.linkerd.io/skip-inbound-ports`,
      'data plane service labels are configured correctly': `labels that Trellis reads only as annotations:\nservice/web (${ns}): label linkerd.io/inject`,
      'data plane service annotations are configured correctly': `annotations that only pods read (a Service takes only config.linkerd.io/opaque-ports):\nservice/web (${ns}): annotation config.linkerd.io/proxy-cpu-limit`,
      'opaque ports are properly annotated': `service/db (${ns}) marks port 6000 opaque, but pod/db-0 (${ns}) does not mark its target port 6000 opaque`,
    });
  });

  it('passes once the labels are annotations and both sides agree', async () => {
    for (const args of [
      ['label', 'pod', 'web-0', 'config.linkerd.io/skip-inbound-ports-'],
      ['label', 'service', 'web', 'linkerd.io/inject-'],
      ['annotate', 'service', 'web', 'config.linkerd.io/proxy-cpu-limit-'],
      ['annotate', '--overwrite', 'pod', 'db-0', 'config.linkerd.io/opaque-ports=pg,6000'],
    ]) {
      expect((await kubectl(['-n', ns, ...args])).stderr).toBe('');
    }
    const results = await annotationsCheck(dataPlaneAnnotationChecks, context({}));
    expect(Object.values(results)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});
