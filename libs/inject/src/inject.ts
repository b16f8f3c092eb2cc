// The injection function: (object, namespace metadata, values) → decision + JSON patch (contracts §5.2–5.4).
// Pure: no I/O, no clock; the webhook and the CLI supply owners and namespaces they looked up.
import { createHash } from 'node:crypto';
import { VERSION } from '@trellis/config';
import {
  A,
  CONFIG_KEYS,
  CREATED_BY,
  escapePointer,
  INHERITED_KEYS,
  INJECT,
  LABEL_CONTROL_PLANE_NS,
  LABEL_WORKLOAD_NS,
  labelProxyKind,
  PROXY_VERSION,
  RESOURCE_ATTRIBUTE_PREFIX,
  TRUST_ROOT_SHA256,
} from './annotations.ts';
import {
  debugContainer,
  identityVolumes,
  initContainer,
  networkValidatorContainer,
  podinfoVolume,
  proxyContainer,
  tracingEnabled,
  type RenderContext,
} from './containers.ts';
import { decide, type Origin, type SkipReason } from './decision.ts';
import type { PatchOp } from './json-patch.ts';
import { applyAnnotations, type ProxyOptions } from './overrides.ts';
import { exposedDefaultOpaquePorts, podInboundPorts, resolveOpaquePorts, serviceDefaultOpaquePorts, type ServicePort } from './ports.ts';
import { isPlainObject, type Values } from './values.ts';
import { kindOf, metaOf, podTemplateOf, stringMap, WORKLOAD_TEMPLATE_PATHS, type ObjectMeta } from './workload.ts';

export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'trellis';

export interface NamespaceMeta {
  readonly name?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface InjectRequest {
  /** A Kubernetes object as parsed JSON: a Pod, a workload with a pod template, a Service, or anything else. */
  readonly object: unknown;
  /** The metadata of the object's namespace; its annotations decide and are inherited (contracts §5.3). */
  readonly namespace?: NamespaceMeta;
  readonly values: Values;
  readonly origin: Origin;
  /** Defaults to `trellis`. */
  readonly controlPlaneNamespace?: string;
  /** The top-level owner of a bare Pod (e.g. the Deployment behind its ReplicaSet), as the webhook resolved it. */
  readonly owner?: { readonly kind: string; readonly name: string };
  /** Namespace of the object when its metadata does not say (AdmissionRequest.namespace). */
  readonly objectNamespace?: string;
  /** Version in linkerd.io/created-by; defaults to the release version. */
  readonly version?: string;
}

export interface InjectResult {
  /** Lower-case kind ("deployment", "pod", "service", ...); "" when the object has none. */
  readonly kind: string;
  readonly name: string;
  readonly injected: boolean;
  readonly reasons: readonly SkipReason[];
  readonly annotationAt: 'workload' | 'namespace' | '';
  /** Ops to apply; empty when nothing changes. When skipped this may still set config.linkerd.io/opaque-ports. */
  readonly patch: readonly PatchOp[];
  readonly warnings: readonly string[];
  /** The pod's annotations after namespace inheritance (the injector's metric labels are read from them). */
  readonly podAnnotations: Readonly<Record<string, string>>;
}

const sha256Memo = new Map<string, string>();

export function trustRootSha256(pem: string): string {
  let hex = sha256Memo.get(pem);
  if (hex === undefined) {
    hex = createHash('sha256').update(pem).digest('hex');
    if (sha256Memo.size > 16) sha256Memo.clear();
    sha256Memo.set(pem, hex);
  }
  return hex;
}

/**
 * Values with a pod's overrides applied, memoized per values object and set of config annotations: a webhook sees
 * the same few configurations over and over, and copying the values tree dominated the cost of an injection.
 * The memoized result is never mutated by the renderers.
 */
const overridesMemo = new WeakMap<Values, Map<string, ProxyOptions>>();

function overriddenValues(values: Values, effective: Record<string, string>, nsAnn: Record<string, string>, ingress: boolean): ProxyOptions {
  const relevant = CONFIG_KEYS.map((k) => effective[k] ?? null);
  const key = JSON.stringify([ingress, nsAnn[A.additionalEnv] ?? null, relevant]);
  let perValues = overridesMemo.get(values);
  if (!perValues) overridesMemo.set(values, (perValues = new Map()));
  let opts = perValues.get(key);
  if (!opts) {
    opts = applyAnnotations(values, effective, nsAnn);
    opts.values.proxy.isIngress = ingress;
    if (perValues.size >= 256) perValues.clear();
    perValues.set(key, opts);
  }
  return opts;
}

function nameOf(meta: ObjectMeta): string {
  return typeof meta.name === 'string' && meta.name !== '' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '';
}

const annotationPath = (prefix: string, key: string) => `${prefix}/metadata/annotations/${escapePointer(key)}`;

/** Ops that set one annotation, creating metadata and the annotations map when missing. */
function addAnnotationOps(prefix: string, meta: ObjectMeta | undefined, entries: readonly (readonly [string, string])[]): PatchOp[] {
  if (entries.length === 0) return [];
  const ops: PatchOp[] = [];
  if (!meta) ops.push({ op: 'add', path: `${prefix}/metadata`, value: {} });
  if (!meta || !isPlainObject(meta.annotations)) ops.push({ op: 'add', path: `${prefix}/metadata/annotations`, value: {} });
  for (const [k, v] of entries) ops.push({ op: 'add', path: annotationPath(prefix, k), value: v });
  return ops;
}

export function inject(req: InjectRequest): InjectResult {
  const obj = req.object;
  const values = req.values;
  const nsAnn = stringMap(req.namespace?.annotations);
  if (!isPlainObject(obj)) {
    return { kind: '', name: '', injected: false, reasons: ['unsupported_resource'], annotationAt: '', patch: [], warnings: [], podAnnotations: {} };
  }
  const kind = kindOf(obj);
  const meta = metaOf(obj);
  const name = nameOf(meta);
  const skipped = (reasons: readonly SkipReason[], annotationAt: InjectResult['annotationAt'], patch: PatchOp[], podAnnotations: Record<string, string>, warnings: string[] = []): InjectResult => ({
    kind, name, injected: false, reasons, annotationAt, patch, warnings, podAnnotations,
  });

  if (kind === 'service') {
    const own = stringMap(meta.annotations);
    return skipped(['unsupported_resource'], '', serviceOpaquePortsPatch(obj, own, nsAnn, values), own);
  }

  const template = podTemplateOf(obj);
  const podAnn = stringMap(template?.meta?.annotations);
  const decision = decide(template?.spec, podAnn[INJECT] ?? '', nsAnn[INJECT] ?? '', values, req.origin);
  if (!template || !decision.inject) {
    const patch = template && req.origin === 'webhook' ? podOpaquePortsPatch(template.prefix, template.meta, template.spec, podAnn, nsAnn, values) : [];
    return skipped(decision.reasons, decision.annotationAt, patch, podAnn);
  }

  // Namespace inheritance: keys the namespace sets and the pod does not are copied onto the pod (and patched in).
  const inherited: [string, string][] = [];
  for (const key of INHERITED_KEYS) {
    const nsValue = nsAnn[key];
    if (nsValue !== undefined && podAnn[key] === undefined) inherited.push([key, nsValue]);
  }
  const effective: Record<string, string> = { ...podAnn, ...Object.fromEntries(inherited) };

  const opts = overriddenValues(values, effective, nsAnn, decision.mode === 'ingress');
  const v = opts.values;
  const warnings = [...opts.warnings];
  const spec = template.spec;
  const prefix = template.prefix;

  const annotations: [string, string][] = [
    [CREATED_BY, `trellis/${req.origin === 'webhook' ? 'proxy-injector' : 'cli'} ${req.version ?? VERSION}`],
    [PROXY_VERSION, v.proxy.image.version || v.linkerdVersion],
    [TRUST_ROOT_SHA256, trustRootSha256(v.identityTrustAnchorsPEM)],
    ...inherited,
  ];
  if (effective[A.opaquePorts] === undefined) {
    const exposed = exposedDefaultOpaquePorts(spec, v.proxy.opaquePorts);
    if (exposed) {
      annotations.push([A.opaquePorts, exposed]);
      effective[A.opaquePorts] = exposed;
    }
  }

  const cpNs = req.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
  const owner = WORKLOAD_TEMPLATE_PATHS[kind] ? { kind, name } : req.owner;
  const workloadNs = meta.namespace || req.objectNamespace || req.namespace?.name || '';
  const labels: [string, string][] = [[LABEL_CONTROL_PLANE_NS, cpNs]];
  if (owner && owner.name) labels.push([labelProxyKind(owner.kind.toLowerCase()), owner.name]);
  if (workloadNs) labels.push([LABEL_WORKLOAD_NS, workloadNs]);

  const ctx: RenderContext = {
    values: v,
    controlPlaneNamespace: cpNs,
    spec,
    inboundPorts: v.proxy.podInboundPorts || podInboundPorts(spec),
    opaquePorts: resolveOpaquePorts(v.proxy.opaquePorts, spec, warnings),
    annotationEnv: opts.annotationEnv,
    traceAttributes: Object.entries(podAnn)
      .filter(([k]) => k.startsWith(RESOURCE_ATTRIBUTE_PREFIX) && k.length > RESOURCE_ATTRIBUTE_PREFIX.length)
      .map(([k, val]) => [k.slice(RESOURCE_ATTRIBUTE_PREFIX.length), val.replace(/\n/g, ' ')] as const),
  };

  const ops: PatchOp[] = addAnnotationOps(prefix, template.meta, annotations);
  if (!template.meta || !isPlainObject(template.meta.labels)) ops.push({ op: 'add', path: `${prefix}/metadata/labels`, value: {} });
  for (const [k, val] of labels) ops.push({ op: 'add', path: `${prefix}/metadata/labels/${escapePointer(k)}`, value: val });

  if (!Array.isArray(spec.volumes)) ops.push({ op: 'add', path: `${prefix}/spec/volumes`, value: [] });
  if (!Array.isArray(spec.initContainers)) ops.push({ op: 'add', path: `${prefix}/spec/initContainers`, value: [] });
  const native = v.proxy.nativeSidecar;
  const initPath = `${prefix}/spec/initContainers/${native ? '0' : '-'}`;
  if (!v.cniEnabled) {
    ops.push({ op: 'add', path: `${prefix}/spec/volumes/-`, value: { emptyDir: {}, name: v.proxyInit.xtMountPath.name } });
    ops.push({ op: 'add', path: initPath, value: initContainer(ctx) });
  } else {
    ops.push({ op: 'add', path: initPath, value: networkValidatorContainer(ctx) });
  }
  if (opts.debugSidecar) ops.push({ op: 'add', path: `${prefix}/spec/containers/-`, value: debugContainer(ctx) });
  for (const vol of identityVolumes()) ops.push({ op: 'add', path: `${prefix}/spec/volumes/-`, value: vol });
  if (tracingEnabled(v)) ops.push({ op: 'add', path: `${prefix}/spec/volumes/-`, value: podinfoVolume() });
  const proxyPath = native ? `${prefix}/spec/initContainers/1` : v.proxy.await ? `${prefix}/spec/containers/0` : `${prefix}/spec/containers/-`;
  ops.push({ op: 'add', path: proxyPath, value: proxyContainer(ctx) });

  return { kind, name, injected: true, reasons: [], annotationAt: decision.annotationAt, patch: ops, warnings, podAnnotations: effective };
}

/** Contracts §5.2: a pod that is not injected still gets config.linkerd.io/opaque-ports (inherited, or the defaults it exposes). */
function podOpaquePortsPatch(
  prefix: string,
  meta: ObjectMeta | undefined,
  spec: Parameters<typeof exposedDefaultOpaquePorts>[0],
  podAnn: Record<string, string>,
  nsAnn: Record<string, string>,
  values: Values,
): PatchOp[] {
  if (podAnn[A.opaquePorts] !== undefined) return [];
  const value = nsAnn[A.opaquePorts] ?? exposedDefaultOpaquePorts(spec, values.proxy.opaquePorts);
  return value ? addAnnotationOps(prefix, meta, [[A.opaquePorts, value]]) : [];
}

function serviceOpaquePortsPatch(obj: Record<string, unknown>, own: Record<string, string>, nsAnn: Record<string, string>, values: Values): PatchOp[] {
  if (own[A.opaquePorts] !== undefined) return [];
  const spec = isPlainObject(obj['spec']) ? obj['spec'] : {};
  const ports = Array.isArray(spec['ports']) ? (spec['ports'].filter(isPlainObject) as ServicePort[]) : [];
  const value = nsAnn[A.opaquePorts] ?? serviceDefaultOpaquePorts(ports, values.proxy.opaquePorts);
  const meta = isPlainObject(obj['metadata']) ? (obj['metadata'] as ObjectMeta) : undefined;
  return value ? addAnnotationOps('', meta, [[A.opaquePorts, value]]) : [];
}
