import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@trellis/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCluster, ApiLookupError } from '../src/kube/api-cluster.ts';
import { eventually } from './support/fixtures.ts';

// A fake API server that counts calls, with a gate to hold namespace answers while concurrent lookups pile up.
const calls: string[] = [];
let releaseGate: (() => void) | undefined;
let gate: Promise<void> = Promise.resolve();
let server: Server;
let kc: KubeConfig;

beforeAll(async () => {
  server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url?.split('?')[0]}`);
    req.resume();
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = req.url?.split('?')[0] ?? '';
    if (url === '/api/v1/namespaces/mesh') {
      void gate.then(() => json(200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh', annotations: { 'linkerd.io/inject': 'enabled' } } }));
    } else if (url === '/api/v1/namespaces/broken') json(500, { kind: 'Status', code: 500, message: 'etcd unavailable' });
    else if (url === '/apis/apps/v1/namespaces/mesh/replicasets/web-5d8b4f9c7') {
      json(200, { kind: 'ReplicaSet', metadata: { name: 'web-5d8b4f9c7', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }] } });
    } else if (url === '/apis/batch/v1/namespaces/mesh/jobs/report-29000') {
      json(200, { kind: 'Job', metadata: { name: 'report-29000', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: 'c1', controller: true }] } });
    } else if (req.method === 'POST' && url === '/api/v1/namespaces/mesh/events') json(201, { kind: 'Event' });
    else json(404, { kind: 'Status', code: 404, reason: 'NotFound' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const log = createLogger({ name: 'test', level: 'silent', format: 'json' });
const count = (call: string) => calls.filter((c) => c === call).length;

describe('ApiCluster', () => {
  it('shares one request among concurrent lookups of a namespace and caches the answer', async () => {
    let now = 0;
    const cluster = new ApiCluster(kc, log, { now: () => now, namespaceTtlMs: 5000 });
    gate = new Promise((r) => (releaseGate = r));
    const lookups = Array.from({ length: 20 }, () => cluster.namespace('mesh'));
    await eventually(() => (count('GET /api/v1/namespaces/mesh') === 1 ? true : undefined), 5000, 'the first request');
    releaseGate?.();
    for (const ns of await Promise.all(lookups)) expect(ns).toEqual({ name: 'mesh', annotations: { 'linkerd.io/inject': 'enabled' } });
    await cluster.namespace('mesh');
    expect(count('GET /api/v1/namespaces/mesh')).toBe(1);
    now = 6000;
    await cluster.namespace('mesh');
    expect(count('GET /api/v1/namespaces/mesh')).toBe(2);
  });

  it('returns undefined for a namespace that does not exist and an error naming it when the API fails', async () => {
    const cluster = new ApiCluster(kc, log);
    expect(await cluster.namespace('ghost')).toBeUndefined();
    const err = await cluster.namespace('broken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiLookupError);
    expect((err as Error).message).toMatch(/^cannot read namespace broken/);
  });

  it('follows ReplicaSet to Deployment and Job to CronJob, and keeps other owners as they are', async () => {
    const cluster = new ApiCluster(kc, log);
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8b4f9c7', namespace: 'mesh' };
    expect(await cluster.topOwner('mesh', rs)).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', namespace: 'mesh' });
    await cluster.topOwner('mesh', rs);
    expect(count('GET /apis/apps/v1/namespaces/mesh/replicasets/web-5d8b4f9c7')).toBe(1);
    expect(await cluster.topOwner('mesh', { apiVersion: 'batch/v1', kind: 'Job', name: 'report-29000', namespace: 'mesh' })).toMatchObject({ kind: 'CronJob', name: 'report' });
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'mesh' };
    expect(await cluster.topOwner('mesh', sts)).toBe(sts);
    // An owner that cannot be read is used as it is.
    const gone = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone-abcde', namespace: 'mesh' };
    expect(await cluster.topOwner('mesh', gone)).toBe(gone);
  });

  it('sends an identical event once per window', async () => {
    let now = 0;
    const cluster = new ApiCluster(kc, log, { now: () => now, eventWindowMs: 60_000 });
    const event = { involved: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'mesh' }, type: 'Normal', reason: 'Injected', message: 'Trellis sidecar proxy injected' } as const;
    const before = count('POST /api/v1/namespaces/mesh/events');
    for (let i = 0; i < 5; i++) cluster.recordEvent(event);
    await eventually(() => (count('POST /api/v1/namespaces/mesh/events') === before + 1 ? true : undefined), 5000, 'the event');
    now = 61_000;
    cluster.recordEvent(event);
    await eventually(() => (count('POST /api/v1/namespaces/mesh/events') === before + 2 ? true : undefined), 5000, 'the second event');
  });
});
