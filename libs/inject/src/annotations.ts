// Annotation and label names: Linkerd's, kept exactly so workloads annotated for Linkerd mesh with Trellis (contracts §5.3).

export const INJECT = 'linkerd.io/inject';
export const INJECT_ENABLED = 'enabled';
export const INJECT_DISABLED = 'disabled';
export const INJECT_INGRESS = 'ingress';
export const INJECT_VALUES: readonly string[] = [INJECT_ENABLED, INJECT_DISABLED, INJECT_INGRESS];

export const CREATED_BY = 'linkerd.io/created-by';
export const PROXY_VERSION = 'linkerd.io/proxy-version';
export const TRUST_ROOT_SHA256 = 'linkerd.io/trust-root-sha256';

export const LABEL_CONTROL_PLANE_NS = 'linkerd.io/control-plane-ns';
export const LABEL_WORKLOAD_NS = 'linkerd.io/workload-ns';
export const labelProxyKind = (kind: string) => `linkerd.io/proxy-${kind}`;

const c = (k: string) => `config.linkerd.io/${k}`;

export const A = {
  proxyImage: c('proxy-image'),
  proxyVersion: c('proxy-version'),
  imagePullPolicy: c('image-pull-policy'),
  initImage: c('init-image'),
  initImageVersion: c('init-image-version'),
  controlPort: c('control-port'),
  inboundPort: c('inbound-port'),
  adminPort: c('admin-port'),
  outboundPort: c('outbound-port'),
  podInboundPorts: c('pod-inbound-ports'),
  skipInboundPorts: c('skip-inbound-ports'),
  skipOutboundPorts: c('skip-outbound-ports'),
  skipSubnets: c('skip-subnets'),
  opaquePorts: c('opaque-ports'),
  cpuRequest: c('proxy-cpu-request'),
  cpuLimit: c('proxy-cpu-limit'),
  cpuRatioLimit: c('proxy-cpu-ratio-limit'),
  memoryRequest: c('proxy-memory-request'),
  memoryLimit: c('proxy-memory-limit'),
  ephemeralStorageRequest: c('proxy-ephemeral-storage-request'),
  ephemeralStorageLimit: c('proxy-ephemeral-storage-limit'),
  proxyUid: c('proxy-uid'),
  proxyGid: c('proxy-gid'),
  logLevel: c('proxy-log-level'),
  logFormat: c('proxy-log-format'),
  logHttpHeaders: c('proxy-log-http-headers'),
  accessLog: c('access-log'),
  adminShutdown: c('proxy-admin-shutdown'),
  enableExternalProfiles: c('enable-external-profiles'),
  requireIdentityInboundPorts: c('proxy-require-identity-inbound-ports'),
  metricsHostnameLabels: c('proxy-metrics-hostname-labels'),
  outboundConnectTimeout: c('proxy-outbound-connect-timeout'),
  inboundConnectTimeout: c('proxy-inbound-connect-timeout'),
  outboundDiscoveryCacheUnusedTimeout: c('proxy-outbound-discovery-cache-unused-timeout'),
  inboundDiscoveryCacheUnusedTimeout: c('proxy-inbound-discovery-cache-unused-timeout'),
  disableOutboundDetectTimeout: c('proxy-disable-outbound-protocol-detect-timeout'),
  disableInboundDetectTimeout: c('proxy-disable-inbound-protocol-detect-timeout'),
  shutdownGracePeriod: c('shutdown-grace-period'),
  proxyAwait: c('proxy-await'),
  defaultInboundPolicy: c('default-inbound-policy'),
  enableGateway: c('enable-gateway'),
  enableDebugSidecar: c('enable-debug-sidecar'),
  debugImage: c('debug-image'),
  debugImageVersion: c('debug-image-version'),
  debugImagePullPolicy: c('debug-image-pull-policy'),
  closeWaitTimeout: c('close-wait-timeout'),
  nativeSidecar: c('proxy-enable-native-sidecar'),
  nativeSidecarAlpha: 'config.alpha.linkerd.io/proxy-enable-native-sidecar',
  nativeSidecarBeta: 'config.beta.linkerd.io/proxy-enable-native-sidecar',
  waitBeforeExitSeconds: 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds',
  additionalEnv: c('proxy-additional-env'),
  traceCollector: c('trace-collector'),
  traceCollectorServiceAccount: 'config.alpha.linkerd.io/trace-collector-service-account',
} as const;

/** Pod annotations whose suffix and value become trace resource attributes (when tracing is on). */
export const RESOURCE_ATTRIBUTE_PREFIX = 'resource.opentelemetry.io/';

/** Keys a pod never takes from its namespace (contracts §5.3). */
export const NOT_INHERITED: ReadonlySet<string> = new Set([
  A.enableGateway,
  A.cpuRatioLimit,
  A.closeWaitTimeout,
  A.debugImage,
  A.debugImageVersion,
  A.debugImagePullPolicy,
]);

/** Every proxy configuration key, in a stable order (it is also the order of the injector's metric labels). */
export const CONFIG_KEYS: readonly string[] = Object.values(A);

/** Keys copied from the namespace onto the pod when the pod lacks them, in the order they are patched. */
export const INHERITED_KEYS: readonly string[] = [INJECT, ...CONFIG_KEYS.filter((k) => !NOT_INHERITED.has(k) && k !== A.additionalEnv)].sort();

export const DEFAULT_INBOUND_POLICIES: readonly string[] = [
  'all-unauthenticated',
  'all-authenticated',
  'cluster-unauthenticated',
  'cluster-authenticated',
  'audit',
  'deny',
];

/** JSON-pointer escaping of one path segment (RFC 6901). */
export function escapePointer(segment: string): string {
  return segment.includes('~') || segment.includes('/') ? segment.replaceAll('~', '~0').replaceAll('/', '~1') : segment;
}
