// The slim records the index keeps: only the fields discovery and policy read, copied out of the
// Kubernetes objects the watches deliver. Whole Pods and EndpointSlices are what makes Linkerd's
// destination grow to gigabytes in big clusters; these records are a few hundred bytes each.
import type { V1EndpointSlice, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { keepOutboundAnnotations, parseOutboundAnnotations, type OutboundAnnotations } from '../policy/annotations.ts';

export const ANNOTATION_OPAQUE_PORTS = 'config.linkerd.io/opaque-ports';
export const ANNOTATION_SKIP_INBOUND_PORTS = 'config.linkerd.io/skip-inbound-ports';
export const ANNOTATION_DEFAULT_INBOUND_POLICY = 'config.linkerd.io/default-inbound-policy';
export const ANNOTATION_REQUIRE_IDENTITY_PORTS = 'config.linkerd.io/proxy-require-identity-inbound-ports';
export const LABEL_CONTROL_PLANE_NS = 'linkerd.io/control-plane-ns';
export const LABEL_POD_TEMPLATE_HASH = 'pod-template-hash';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
const PROXY_CONTAINER = 'linkerd-proxy';
const ENV_INBOUND_LISTEN_ADDR = 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR';

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** A number, or the name of a container port. */
  readonly targetPort: number | string;
  readonly appProtocol: string;
}

export interface ServiceRecord {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIPs: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly opaquePorts: string | undefined;
  readonly internalTrafficPolicyLocal: boolean;
  /** Retry, timeout and failure-accrual annotations, parsed (with the problems found in them). */
  readonly outbound: OutboundAnnotations;
}

export interface EndpointRecord {
  readonly addresses: readonly string[];
  /** `conditions.ready`; unknown counts as ready, as Kubernetes documents. */
  readonly ready: boolean;
  readonly hostname: string | undefined;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  /** `hints.forZones`; undefined when the endpoint has no hints. */
  readonly zoneHints: readonly string[] | undefined;
  /** Name of the Pod behind the endpoint (targetRef kind Pod, same namespace). */
  readonly podName: string | undefined;
}

export interface SliceRecord {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  readonly endpoints: readonly EndpointRecord[];
}

export interface ProbeRoute {
  readonly port: number | string;
  readonly path: string;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly running: boolean;
  readonly hostNetwork: boolean;
  readonly hostIP: string | undefined;
  readonly nodeName: string | undefined;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** linkerd.io/control-plane-ns, or "" for unmeshed pods. */
  readonly controlPlaneNs: string;
  readonly ownerKind: string | undefined;
  readonly ownerName: string | undefined;
  readonly opaquePorts: string | undefined;
  readonly skipInboundPorts: string | undefined;
  readonly defaultInboundPolicy: string | undefined;
  readonly requireIdentityPorts: string | undefined;
  /** The proxy's inbound port from its LINKERD2_PROXY_INBOUND_LISTEN_ADDR, when it has one. */
  readonly proxyInboundPort: number | undefined;
  readonly containerPorts: readonly { readonly name: string; readonly port: number; readonly hostPort: number | undefined }[];
  /** HTTP GET liveness/readiness/startup probes of the app containers. */
  readonly probes: readonly ProbeRoute[];
}

export interface NamespaceRecord {
  readonly name: string;
  readonly defaultInboundPolicy: string | undefined;
}

/** A Kubernetes object with a spec we read loosely (CRDs without generated types). */
export interface CustomObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; creationTimestamp?: Date | string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

export interface ServerRecord {
  readonly namespace: string;
  readonly name: string;
  /** ServerAuthorizations select Servers by these. */
  readonly labels: Readonly<Record<string, string>>;
  readonly podSelector: LabelSelector | undefined;
  readonly port: number | string;
  readonly proxyProtocol: string;
  readonly accessPolicy: string | undefined;
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly { readonly key: string; readonly operator: string; readonly values: readonly string[] }[];
}

export interface ProfileRecord {
  readonly namespace: string;
  readonly name: string;
  /** The spec as stored (a small document); translated per stream. */
  readonly spec: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function serviceRecord(svc: V1Service): ServiceRecord {
  const spec = svc.spec ?? {};
  const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  return {
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    clusterIPs: ips.filter((ip) => ip !== '' && ip !== 'None'),
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      targetPort: p.targetPort === undefined || p.targetPort === '' ? p.port : toPortValue(p.targetPort),
      appProtocol: p.appProtocol ?? '',
    })),
    opaquePorts: svc.metadata?.annotations?.[ANNOTATION_OPAQUE_PORTS],
    internalTrafficPolicyLocal: spec.internalTrafficPolicy === 'Local',
    outbound: parseOutboundAnnotations(keepOutboundAnnotations(svc.metadata?.annotations), 'Service'),
  };
}

export function sliceRecord(slice: V1EndpointSlice): SliceRecord | undefined {
  const serviceName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
  if (!serviceName) return undefined;
  const namespace = slice.metadata?.namespace ?? '';
  return {
    namespace,
    name: slice.metadata?.name ?? '',
    serviceName,
    ports: (slice.ports ?? []).flatMap((p) => (p.port === undefined ? [] : [{ name: p.name ?? '', port: p.port }])),
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: [...e.addresses],
      ready: e.conditions?.ready !== false,
      hostname: e.hostname,
      nodeName: e.nodeName,
      zone: e.zone,
      zoneHints: e.hints?.forZones?.map((z) => z.name),
      podName: e.targetRef?.kind === 'Pod' && (e.targetRef.namespace ?? namespace) === namespace ? e.targetRef.name : undefined,
    })),
  };
}

export function podRecord(pod: V1Pod): PodRecord {
  const meta = pod.metadata ?? {};
  const spec = pod.spec;
  const status = pod.status ?? {};
  const annotations = meta.annotations ?? {};
  const labels = meta.labels ?? {};
  const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0];
  const ips = status.podIPs?.map((p) => p.ip).filter((ip): ip is string => !!ip) ?? (status.podIP ? [status.podIP] : []);
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  const proxy = containers.find((c) => c.name === PROXY_CONTAINER);
  const listen = proxy?.env?.find((e) => e.name === ENV_INBOUND_LISTEN_ADDR)?.value;
  const portText = listen?.slice(listen.lastIndexOf(':') + 1);
  const proxyInboundPort = portText && /^\d{1,5}$/.test(portText) ? Number(portText) : undefined;
  const probes: ProbeRoute[] = [];
  for (const c of spec?.containers ?? []) {
    if (c.name === PROXY_CONTAINER) continue;
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      const get = probe?.httpGet;
      if (get) probes.push({ port: toPortValue(get.port), path: get.path ?? '/' });
    }
  }
  const kept: Record<string, string> = {};
  for (const key of [LABEL_CONTROL_PLANE_NS, LABEL_POD_TEMPLATE_HASH]) {
    const v = labels[key];
    if (v !== undefined) kept[key] = v;
  }
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    ips,
    running: status.phase === 'Running',
    hostNetwork: spec?.hostNetwork === true,
    hostIP: status.hostIP,
    nodeName: spec?.nodeName,
    serviceAccount: spec?.serviceAccountName ?? 'default',
    // Server selectors match on any label, so labels stay; they are small.
    labels: { ...labels },
    controlPlaneNs: labels[LABEL_CONTROL_PLANE_NS] ?? '',
    ownerKind: owner?.kind,
    ownerName: owner?.name,
    opaquePorts: str(annotations[ANNOTATION_OPAQUE_PORTS]),
    skipInboundPorts: str(annotations[ANNOTATION_SKIP_INBOUND_PORTS]),
    defaultInboundPolicy: str(annotations[ANNOTATION_DEFAULT_INBOUND_POLICY]),
    requireIdentityPorts: str(annotations[ANNOTATION_REQUIRE_IDENTITY_PORTS]),
    proxyInboundPort,
    containerPorts: containers.flatMap((c) => (c.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.containerPort, hostPort: p.hostPort }))),
    probes,
  };
}

export function nodeZone(node: V1Node): string {
  return node.metadata?.labels?.[LABEL_ZONE] ?? '';
}

export function namespaceRecord(ns: V1Namespace): NamespaceRecord {
  return { name: ns.metadata?.name ?? '', defaultInboundPolicy: ns.metadata?.annotations?.[ANNOTATION_DEFAULT_INBOUND_POLICY] };
}

export function serverRecord(obj: CustomObject): ServerRecord {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const sel = spec['podSelector'] as Record<string, unknown> | undefined;
  return {
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    labels: { ...(obj.metadata?.labels ?? {}) },
    podSelector: sel === undefined ? undefined : labelSelector(sel),
    port: typeof spec['port'] === 'number' ? spec['port'] : String(spec['port'] ?? ''),
    proxyProtocol: str(spec['proxyProtocol']) ?? 'unknown',
    accessPolicy: str(spec['accessPolicy']),
  };
}

export function profileRecord(obj: CustomObject): ProfileRecord {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', spec: obj.spec ?? {} };
}

export function labelSelector(sel: Record<string, unknown>): LabelSelector {
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries((sel['matchLabels'] ?? {}) as Record<string, unknown>)) if (typeof v === 'string') matchLabels[k] = v;
  const exprs = Array.isArray(sel['matchExpressions']) ? (sel['matchExpressions'] as Record<string, unknown>[]) : [];
  return {
    matchLabels,
    matchExpressions: exprs.map((e) => ({
      key: String(e['key'] ?? ''),
      operator: String(e['operator'] ?? ''),
      values: Array.isArray(e['values']) ? (e['values'] as unknown[]).map(String) : [],
    })),
  };
}

/** Kubernetes label-selector semantics (an empty selector matches everything). */
export function selectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !e.values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && e.values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function toPortValue(v: number | string | { toString(): string }): number | string {
  if (typeof v === 'number') return v;
  const s = String(v);
  return /^\d+$/.test(s) ? Number(s) : s;
}
