// Shared pieces of the destination's cluster tests: CRDs installed from the Helm chart's files, a
// destination started on ephemeral ports, gRPC clients, stream collectors and object builders.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  loadAllYaml,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1EndpointSlice,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { DestinationClient, InboundServerPoliciesClient, OutboundPoliciesClient } from '@trellis/proto';
import { pino } from 'pino';
import { startDestination, type Destination } from '../src/app.ts';
import { defaultConfig, type DestinationConfig } from '../src/config.ts';

const ROOT = join(import.meta.dirname, '../../..');

/** Every CRD of the trellis-crds chart (Gateway API routes included), rendered by the pinned helm. */
function chartCrds(): V1CustomResourceDefinition[] {
  const kubeVersion = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
  const yaml = execFileSync(join(ROOT, 'tools/bin/helm'), ['template', 'trellis-crds', join(ROOT, 'helm/trellis-crds'), '--set', 'installGatewayAPI=true', '--kube-version', kubeVersion], { encoding: 'utf8' });
  return (loadAllYaml(yaml) as (V1CustomResourceDefinition | null)[]).filter((d): d is V1CustomResourceDefinition => d?.kind === 'CustomResourceDefinition');
}

export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function installCrds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of chartCrds()) {
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    const name = crd.metadata?.name ?? '';
    const t0 = Date.now();
    for (;;) {
      const got = await api.readCustomResourceDefinition({ name });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() - t0 > 20_000) throw new Error(`CRD ${name} not established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function createNamespace(kc: KubeConfig, prefix: string, annotations?: Record<string, string>): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, ...(annotations ? { annotations } : {}) } } });
  return name;
}

export async function startTestDestination(kc: KubeConfig, overrides: Partial<DestinationConfig> = {}, logLines?: string[]): Promise<Destination> {
  const any = { host: '127.0.0.1', port: 0 };
  const cfg = defaultConfig({ addr: any, policyAddr: any, adminAddr: any, ...overrides });
  // With `logLines`, every log line (warn and up) is kept there for the test to read.
  const logger = logLines ? pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }) : pino({ level: process.env['TRELLIS_TEST_LOG'] ?? 'silent' });
  return startDestination(cfg, { kubeConfig: kc, logger });
}

export function clients(d: Destination) {
  const insecure = credentials.createInsecure();
  return {
    destination: new DestinationClient(`127.0.0.1:${d.ports.destination}`, insecure),
    inbound: new InboundServerPoliciesClient(`127.0.0.1:${d.ports.policy}`, insecure),
    outbound: new OutboundPoliciesClient(`127.0.0.1:${d.ports.policy}`, insecure),
  };
}

/** Everything a stream delivered, plus its end status. */
export interface Collected<T> {
  readonly items: T[];
  error: ServiceError | undefined;
  ended: boolean;
  next(what: string, pred?: (item: T) => boolean, timeoutMs?: number): Promise<T>;
  cancel(): void;
}

export function collect<T>(stream: ClientReadableStream<T>): Collected<T> {
  let read = 0;
  const c: Collected<T> = {
    items: [],
    error: undefined,
    ended: false,
    async next(what, pred = () => true, timeoutMs = 10_000) {
      return until(what, () => {
        if (c.error) throw new Error(`${what}: stream failed: ${c.error.message}`);
        while (read < c.items.length) {
          const item = c.items[read++] as T;
          if (pred(item)) return item;
        }
        return undefined;
      }, timeoutMs);
    },
    cancel: () => stream.cancel(),
  };
  stream.on('data', (d: T) => c.items.push(d));
  stream.on('error', (e: ServiceError) => {
    c.error = e;
  });
  stream.on('end', () => {
    c.ended = true;
  });
  return c;
}

/** The status a stream ended with (it must fail). */
export async function streamError<T>(stream: ClientReadableStream<T>): Promise<ServiceError> {
  const c = collect(stream);
  return until('stream error', () => c.error, 5000);
}

export const api = (kc: KubeConfig) => ({
  core: kc.makeApiClient(CoreV1Api),
  discovery: kc.makeApiClient(DiscoveryV1Api),
  custom: kc.makeApiClient(CustomObjectsApi),
});

export interface PodOptions {
  readonly meshed?: boolean;
  readonly controlPlaneNs?: string;
  readonly serviceAccount?: string;
  readonly annotations?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly ports?: { name: string; containerPort: number }[];
  readonly probePaths?: { port: number | string; path: string }[];
  readonly nodeName?: string;
}

/** Creates a pod and gives it an IP and phase Running through the status subresource (no kubelet here). */
export async function createPod(kc: KubeConfig, ns: string, name: string, ip: string, o: PodOptions = {}): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const labels = { ...(o.labels ?? {}), ...(o.meshed ? { 'linkerd.io/control-plane-ns': o.controlPlaneNs ?? 'trellis' } : {}) };
  const containers: NonNullable<V1Pod['spec']>['containers'] = [
    {
      name: 'app',
      image: 'app',
      ports: o.ports ?? [],
      ...(o.probePaths?.[0] ? { livenessProbe: { httpGet: { port: o.probePaths[0].port as number, path: o.probePaths[0].path } } } : {}),
      ...(o.probePaths?.[1] ? { readinessProbe: { httpGet: { port: o.probePaths[1].port as number, path: o.probePaths[1].path } } } : {}),
    },
  ];
  const sa = o.serviceAccount ?? 'default';
  try {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  if (o.meshed) containers.push({ name: 'linkerd-proxy', image: 'proxy', env: [{ name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '0.0.0.0:4143' }] });
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels, annotations: o.annotations ?? {} },
      spec: { containers, serviceAccountName: sa, automountServiceAccountToken: false, ...(o.nodeName ? { nodeName: o.nodeName } : {}) },
    },
  });
  pod.status = { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.0.2.1' };
  return core.replaceNamespacedPodStatus({ name, namespace: ns, body: pod });
}

export async function createService(kc: KubeConfig, ns: string, name: string, ports: { name: string; port: number; targetPort: number | string }[], extra: Partial<NonNullable<V1Service['spec']>> = {}, annotations: Record<string, string> = {}): Promise<V1Service> {
  return kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace: ns,
    body: { metadata: { name, annotations }, spec: { ports: ports.map((p) => ({ ...p, protocol: 'TCP' })), ...extra } },
  });
}

export interface EndpointSpec {
  readonly ip: string;
  readonly pod?: string;
  readonly ready?: boolean;
  readonly hostname?: string;
  readonly zone?: string;
  readonly hints?: string[];
  readonly nodeName?: string;
}

export function slice(name: string, service: string, ports: { name: string; port: number }[], endpoints: EndpointSpec[]): V1EndpointSlice {
  return {
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.hints ? { hints: { forZones: e.hints.map((z) => ({ name: z })) } } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod } } : {}),
    })),
  };
}
