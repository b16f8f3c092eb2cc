// The part of the control-plane chart's values that injection reads (contracts §7.1), with Linkerd's defaults.
// Images are Trellis's own; everything else keeps Linkerd's key names so a `trellis-config` ConfigMap written by
// our chart (or a Linkerd values file) can be fed in unchanged. Unknown keys are ignored.
import { TrellisError, VERSION } from '@trellis/config';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Readonly<Record<string, unknown>>;
}

export interface ImageValues {
  readonly name: string;
  /** "" ⇒ linkerdVersion. */
  readonly version: string;
  /** "" ⇒ the top-level imagePullPolicy. */
  readonly pullPolicy: string;
}

export interface ResourceValues {
  readonly cpu: { readonly limit: string; readonly request: string };
  readonly memory: { readonly limit: string; readonly request: string };
  readonly 'ephemeral-storage': { readonly limit: string; readonly request: string };
}

export interface ProbeValues {
  readonly initialDelaySeconds?: number;
  readonly timeoutSeconds?: number;
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
}

export interface Http2KeepAlive {
  readonly server: { readonly http2: { readonly keepAliveInterval: string; readonly keepAliveTimeout: string } };
}

/** Span export to an OTLP collector (off by default); the injector renders LINKERD2_PROXY_TRACE_* from it. */
export interface TracingValues {
  readonly enabled: boolean;
  readonly traceServiceName: string;
  readonly collector: {
    /** host:port of the collector's OTLP gRPC receiver. */
    readonly endpoint: string;
    /** The collector's identity, for mTLS: its service account and namespace (namespace "": the endpoint's). */
    readonly meshIdentity: { readonly serviceAccountName: string; readonly namespace: string };
  };
}

export interface ProxyValues {
  readonly image: ImageValues;
  readonly enableExternalProfiles: boolean;
  readonly outboundConnectTimeout: string;
  readonly inboundConnectTimeout: string;
  readonly outboundDiscoveryCacheUnusedTimeout: string;
  readonly inboundDiscoveryCacheUnusedTimeout: string;
  readonly disableOutboundProtocolDetectTimeout: boolean;
  readonly disableInboundProtocolDetectTimeout: boolean;
  readonly enableShutdownEndpoint: boolean;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly logHTTPHeaders: string;
  readonly accessLog: string;
  readonly ports: { readonly admin: number; readonly control: number; readonly inbound: number; readonly outbound: number };
  readonly cores: number | null;
  readonly runtime: { readonly workers: { readonly minimum: number; readonly maximum: number | null; readonly maximumCPURatio: number | null } };
  readonly resources: ResourceValues;
  readonly uid: number;
  readonly gid: number;
  readonly waitBeforeExitSeconds: number;
  readonly await: boolean;
  readonly requireIdentityOnInboundPorts: string;
  readonly requireTLSOnInboundPorts: string;
  readonly opaquePorts: string;
  readonly podInboundPorts: string;
  readonly shutdownGracePeriod: string;
  readonly defaultInboundPolicy: string;
  readonly outboundTransportMode: string;
  readonly nativeSidecar: boolean;
  readonly livenessProbe: ProbeValues;
  readonly readinessProbe: ProbeValues;
  readonly startupProbe: ProbeValues;
  readonly control: { readonly streams: { readonly initialTimeout: string; readonly idleTimeout: string; readonly lifetime: string } };
  readonly metrics: { readonly hostnameLabels: boolean };
  readonly tracing: TracingValues;
  readonly inbound: Http2KeepAlive;
  readonly outbound: Http2KeepAlive;
  readonly additionalEnv: readonly EnvVar[];
  readonly experimentalEnv: readonly EnvVar[];
  /** Set from annotations, not from the chart. */
  readonly isGateway: boolean;
  readonly isIngress: boolean;
}

export interface ProxyInitValues {
  readonly image: ImageValues;
  readonly iptablesMode: string;
  readonly ignoreInboundPorts: string;
  readonly ignoreOutboundPorts: string;
  readonly kubeAPIServerPorts: string;
  readonly skipSubnets: string;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly closeWaitTimeoutSecs: number;
  readonly privileged: boolean;
  readonly runAsRoot: boolean;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly xtMountPath: { readonly mountPath: string; readonly name: string };
}

export interface Values {
  readonly linkerdVersion: string;
  readonly clusterDomain: string;
  readonly clusterNetworks: string;
  readonly imagePullPolicy: string;
  readonly identityTrustAnchorsPEM: string;
  readonly identityTrustDomain: string;
  readonly disableIPv6: boolean;
  readonly cniEnabled: boolean;
  readonly identity: { readonly serviceAccountTokenProjection: boolean };
  readonly debugContainer: { readonly image: ImageValues };
  readonly networkValidator: {
    readonly logLevel: string;
    readonly logFormat: string;
    readonly connectAddr: string;
    readonly listenAddr: string;
    readonly timeout: string;
  };
  readonly proxy: ProxyValues;
  readonly proxyInit: ProxyInitValues;
}

const emptyResources: ResourceValues = {
  cpu: { limit: '', request: '' },
  memory: { limit: '', request: '' },
  'ephemeral-storage': { limit: '', request: '' },
};

const keepAlive: Http2KeepAlive = { server: { http2: { keepAliveInterval: '10s', keepAliveTimeout: '3s' } } };

export const DEFAULT_VALUES: Values = deepFreeze({
  linkerdVersion: VERSION,
  clusterDomain: 'cluster.local',
  clusterNetworks: '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
  imagePullPolicy: 'IfNotPresent',
  identityTrustAnchorsPEM: '',
  identityTrustDomain: '',
  disableIPv6: true,
  cniEnabled: false,
  identity: { serviceAccountTokenProjection: true },
  debugContainer: { image: { name: 'trellis/debug', version: '', pullPolicy: '' } },
  networkValidator: { logLevel: 'debug', logFormat: 'plain', connectAddr: '', listenAddr: '', timeout: '10s' },
  proxy: {
    image: { name: 'trellis/proxy', version: '', pullPolicy: '' },
    enableExternalProfiles: false,
    outboundConnectTimeout: '1000ms',
    inboundConnectTimeout: '100ms',
    outboundDiscoveryCacheUnusedTimeout: '5s',
    inboundDiscoveryCacheUnusedTimeout: '90s',
    disableOutboundProtocolDetectTimeout: false,
    disableInboundProtocolDetectTimeout: false,
    enableShutdownEndpoint: false,
    logLevel: 'warn,linkerd=info,hickory=error',
    logFormat: 'plain',
    logHTTPHeaders: 'off',
    accessLog: '',
    ports: { admin: 4191, control: 4190, inbound: 4143, outbound: 4140 },
    cores: null,
    runtime: { workers: { minimum: 1, maximum: null, maximumCPURatio: null } },
    resources: emptyResources,
    uid: 2102,
    gid: -1,
    waitBeforeExitSeconds: 0,
    await: true,
    requireIdentityOnInboundPorts: '',
    requireTLSOnInboundPorts: '',
    opaquePorts: '25,587,3306,4444,5432,6379,9300,11211',
    podInboundPorts: '',
    shutdownGracePeriod: '',
    defaultInboundPolicy: 'all-unauthenticated',
    outboundTransportMode: 'transport-header',
    nativeSidecar: true,
    livenessProbe: { initialDelaySeconds: 10, timeoutSeconds: 1 },
    readinessProbe: { initialDelaySeconds: 2, timeoutSeconds: 1 },
    startupProbe: { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 120 },
    control: { streams: { initialTimeout: '3s', idleTimeout: '5m', lifetime: '1h' } },
    metrics: { hostnameLabels: false },
    tracing: { enabled: false, traceServiceName: 'linkerd-proxy', collector: { endpoint: '', meshIdentity: { serviceAccountName: '', namespace: '' } } },
    inbound: keepAlive,
    outbound: keepAlive,
    additionalEnv: [],
    experimentalEnv: [],
    isGateway: false,
    isIngress: false,
  },
  proxyInit: {
    image: { name: 'trellis/proxy-init', version: '', pullPolicy: '' },
    iptablesMode: 'nft',
    ignoreInboundPorts: '4567,4568',
    ignoreOutboundPorts: '4567,4568',
    kubeAPIServerPorts: '443,6443',
    skipSubnets: '',
    logLevel: '',
    logFormat: '',
    closeWaitTimeoutSecs: 0,
    privileged: false,
    runAsRoot: false,
    runAsUser: 65534,
    runAsGroup: 65534,
    xtMountPath: { mountPath: '/run', name: 'linkerd-proxy-init-xtables-lock' },
  },
});

/** A values document that does not fit the model: the message names the key path and the value. */
export class ValuesError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_VALUES', message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Lays a parsed values document (the chart's values.yaml, or the `values` key of the trellis-config ConfigMap)
 * over the defaults. Keys the model does not know are ignored; `null` keeps the default, as Helm does; a value of
 * the wrong type is an error naming its path. Numbers given as numeric strings are accepted (YAML authors quote).
 */
export function resolveValues(doc: unknown): Values {
  if (doc === undefined || doc === null) return DEFAULT_VALUES;
  if (!isPlainObject(doc)) throw new ValuesError(`values: expected a mapping at the top level, got ${describe(doc)}`);
  return deepFreeze(merge(DEFAULT_VALUES as unknown as Json, doc as Json, 'values') as unknown as Values);
}

const NULLABLE_NUMBERS = new Set(['values.proxy.cores', 'values.proxy.runtime.workers.maximum', 'values.proxy.runtime.workers.maximumCPURatio']);

function merge(def: Json, given: Json, path: string): Json {
  if (given === null || given === undefined) return def;
  if (def === null) {
    if (NULLABLE_NUMBERS.has(path)) return toNumber(given, path);
    return given;
  }
  if (Array.isArray(def)) {
    if (!Array.isArray(given)) throw new ValuesError(`${path}: expected a list, got ${describe(given)}`);
    return given;
  }
  if (isPlainObject(def)) {
    if (!isPlainObject(given)) throw new ValuesError(`${path}: expected a mapping, got ${describe(given)}`);
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(def)) out[k] = k in given ? merge(v, (given as Record<string, Json>)[k] as Json, `${path}.${k}`) : v;
    // Probe blocks may carry fields beyond the defaults (e.g. periodSeconds on liveness).
    if (path.endsWith('Probe')) for (const [k, v] of Object.entries(given)) if (!(k in out)) out[k] = toNumber(v as Json, `${path}.${k}`);
    return out;
  }
  if (typeof def === 'number') return toNumber(given, path);
  if (typeof def === 'boolean') {
    if (typeof given === 'boolean') return given;
    if (given === 'true' || given === 'false') return given === 'true';
    throw new ValuesError(`${path}: expected true or false, got ${describe(given)}`);
  }
  if (typeof given === 'string') return given;
  if (typeof given === 'number' || typeof given === 'boolean') return String(given);
  throw new ValuesError(`${path}: expected a string, got ${describe(given)}`);
}

function toNumber(given: Json, path: string): number {
  if (typeof given === 'number' && Number.isFinite(given)) return given;
  if (typeof given === 'string' && given.trim() !== '' && Number.isFinite(Number(given))) return Number(given);
  throw new ValuesError(`${path}: expected a number, got ${describe(given)}`);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  return JSON.stringify(v) ?? String(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** Mutable deep copy of values, for applying annotation overrides. */
export type MutableValues = DeepMutable<Values>;
type DeepMutable<T> = T extends readonly (infer U)[] ? DeepMutable<U>[] : T extends object ? { -readonly [K in keyof T]: DeepMutable<T[K]> } : T;

export function cloneValues(v: Values): MutableValues {
  return structuredClone(v) as MutableValues;
}

/** The image tag a values set resolves to: an explicit version, else linkerdVersion. */
export function imageRef(image: ImageValues, linkerdVersion: string): string {
  return `${image.name}:${image.version || linkerdVersion}`;
}
