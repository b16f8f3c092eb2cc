// The containers and volumes the injector adds (contracts §5.4), rendered from the effective values.
import type { EnvVar, MutableValues } from './values.ts';
import { imageRef, isPlainObject } from './values.ts';
import type { PodSpec, VolumeMount } from './workload.ts';
import { containersOf } from './workload.ts';

export const PROXY_CONTAINER = 'linkerd-proxy';
export const INIT_CONTAINER = 'linkerd-init';
export const VALIDATOR_CONTAINER = 'linkerd-network-validator';
export const DEBUG_CONTAINER = 'linkerd-debug';
export const VOLUME_END_ENTITY = 'linkerd-identity-end-entity';
export const VOLUME_TOKEN = 'linkerd-identity-token';
export const IDENTITY_DIR = '/var/run/linkerd/identity/end-entity';
export const TOKEN_DIR = '/var/run/secrets/tokens';
const SA_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Names of the control-plane objects the proxy talks to (ours: `trellis-*`; see ARCHITECTURE.md). */
export const CONTROL_PLANE_NAMES = {
  destinationHeadless: 'trellis-dst-headless',
  /** destination's ClusterIP Service (8086 discovery, 8090 policy): the proxies' fallback while the headless names are empty. */
  destinationService: 'trellis-dst',
  policy: 'trellis-policy',
  identityHeadless: 'trellis-identity-headless',
  identityAccount: 'trellis-identity',
  destinationAccount: 'trellis-destination',
} as const;

export interface RenderContext {
  readonly values: MutableValues;
  readonly controlPlaneNamespace: string;
  readonly spec: PodSpec;
  readonly inboundPorts: string;
  readonly opaquePorts: string;
  readonly annotationEnv: readonly EnvVar[];
  /** `resource.opentelemetry.io/<key>` pod annotations, as trace resource attributes. */
  readonly traceAttributes: readonly (readonly [string, string])[];
}

/** The downward-API volume the proxy reads the pod's labels from, for trace resource attributes. */
export const VOLUME_PODINFO = 'linkerd-podinfo';
const PODINFO_DIR = '/var/run/linkerd/podinfo';

export function podinfoVolume(): Record<string, unknown> {
  return { downwardAPI: { items: [{ fieldRef: { fieldPath: 'metadata.labels' }, path: 'labels' }] }, name: VOLUME_PODINFO };
}

/**
 * The collector's identity: `<sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust domain>`. Without a namespace in the
 * values, the collector's is taken from its address (`collector.tracing.svc...` → `tracing`), else the pod's own.
 */
function collectorIdentity(t: MutableValues['proxy']['tracing'], cpNs: string, td: string): string | undefined {
  const sa = t.collector.meshIdentity.serviceAccountName;
  if (!sa) return undefined;
  const labels = (t.collector.endpoint.split(':')[0] ?? '').split('.');
  const ns = t.collector.meshIdentity.namespace || (labels.length > 1 ? labels[1] : '$(_pod_ns)');
  return `${sa}.${ns}.serviceaccount.identity.${cpNs}.${td}`;
}

function tracingEnv(ctx: RenderContext, td: string): EnvVar[] {
  const t = ctx.values.proxy.tracing;
  if (!t.enabled || !t.collector.endpoint) return [];
  const out: EnvVar[] = [
    env('LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH', `${PODINFO_DIR}/labels`),
    env('LINKERD2_PROXY_TRACE_PROTOCOL', 'opentelemetry'),
    env('LINKERD2_PROXY_TRACE_SERVICE_NAME', t.traceServiceName),
    env('LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR', t.collector.endpoint),
  ];
  const name = collectorIdentity(t, ctx.controlPlaneNamespace, td);
  if (name) out.push(env('LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME', name));
  const extra = ['k8s.pod.ip=$(_pod_ip)', 'k8s.pod.uid=$(_pod_uid)', 'k8s.container.name=$(_pod_containerName)', ...ctx.traceAttributes.map(([k, val]) => `${k}=${val}`)];
  out.push(env('LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES', extra.join('\n') + '\n'));
  return out;
}

export function tracingEnabled(v: MutableValues): boolean {
  return v.proxy.tracing.enabled && v.proxy.tracing.collector.endpoint !== '';
}

const pullPolicy = (own: string, v: MutableValues) => own || v.imagePullPolicy;

/** The first app container's capabilities, keeping only well-formed lists of names. */
function appCapabilities(spec: PodSpec): { add?: string[]; drop?: string[] } | undefined {
  const caps: unknown = containersOf(spec)[0]?.securityContext?.capabilities;
  if (!isPlainObject(caps)) return undefined;
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const add = names(caps['add']);
  const drop = names(caps['drop']);
  if (!add && !drop) return undefined;
  return { ...(add ? { add } : {}), ...(drop ? { drop } : {}) };
}

export function initContainer(ctx: RenderContext): Record<string, unknown> {
  const v = ctx.values;
  const pi = v.proxyInit;
  const args: string[] = [];
  if (pi.iptablesMode === 'nft') args.push('--firewall-bin-path', 'iptables-nft', '--firewall-save-bin-path', 'iptables-nft-save');
  if (v.disableIPv6) args.push('--ipv6=false');
  args.push('--incoming-proxy-port', String(v.proxy.ports.inbound));
  args.push('--outgoing-proxy-port', String(v.proxy.ports.outbound));
  args.push('--proxy-uid', String(v.proxy.uid));
  if (v.proxy.gid >= 0) args.push('--proxy-gid', String(v.proxy.gid));
  const inboundIgnore = [String(v.proxy.ports.control), String(v.proxy.ports.admin), pi.ignoreInboundPorts].filter(Boolean).join(',');
  args.push('--inbound-ports-to-ignore', inboundIgnore);
  if (pi.ignoreOutboundPorts) args.push('--outbound-ports-to-ignore', pi.ignoreOutboundPorts);
  if (pi.closeWaitTimeoutSecs > 0) args.push('--timeout-close-wait-secs', String(pi.closeWaitTimeoutSecs));
  if (pi.logFormat) args.push('--log-format', pi.logFormat);
  if (pi.logLevel) args.push('--log-level', pi.logLevel);
  if (pi.skipSubnets) args.push('--subnets-to-ignore', pi.skipSubnets);

  // Mirror the app's capabilities, but never drop what iptables needs.
  const app = appCapabilities(ctx.spec);
  const add = [...new Set([...(app?.add ?? []), 'NET_ADMIN', 'NET_RAW'])];
  const drop = (app?.drop ?? []).filter((c) => c !== 'NET_ADMIN' && c !== 'NET_RAW');
  const root = pi.runAsRoot;
  return {
    name: INIT_CONTAINER,
    image: imageRef(pi.image, v.linkerdVersion),
    imagePullPolicy: pullPolicy(pi.image.pullPolicy, v),
    args,
    securityContext: {
      // The API server refuses privileged together with allowPrivilegeEscalation: false.
      allowPrivilegeEscalation: pi.privileged,
      capabilities: drop.length > 0 ? { add, drop } : { add },
      privileged: pi.privileged,
      readOnlyRootFilesystem: true,
      runAsNonRoot: !root,
      runAsUser: root ? 0 : pi.runAsUser,
      runAsGroup: root ? 0 : pi.runAsGroup,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [{ mountPath: pi.xtMountPath.mountPath, name: pi.xtMountPath.name }],
  };
}

export function networkValidatorContainer(ctx: RenderContext): Record<string, unknown> {
  const v = ctx.values;
  const nv = v.networkValidator;
  const ipv6 = !v.disableIPv6;
  return {
    name: VALIDATOR_CONTAINER,
    image: imageRef(v.proxy.image, v.linkerdVersion),
    imagePullPolicy: pullPolicy(v.proxy.image.pullPolicy, v),
    command: ['/usr/lib/linkerd/linkerd2-network-validator'],
    args: [
      '--log-format', nv.logFormat,
      '--log-level', nv.logLevel,
      '--connect-addr', nv.connectAddr || (ipv6 ? '[fd00::1]:20001' : '1.1.1.1:20001'),
      '--listen-addr', nv.listenAddr || (ipv6 ? `[::]:${v.proxy.ports.outbound}` : `0.0.0.0:${v.proxy.ports.outbound}`),
      '--timeout', nv.timeout,
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsGroup: 65534,
      runAsNonRoot: true,
      runAsUser: 65534,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

export function debugContainer(ctx: RenderContext): Record<string, unknown> {
  const v = ctx.values;
  return {
    name: DEBUG_CONTAINER,
    image: imageRef(v.debugContainer.image, v.linkerdVersion),
    imagePullPolicy: pullPolicy(v.debugContainer.image.pullPolicy, v),
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

export function identityVolumes(): Record<string, unknown>[] {
  return [
    { emptyDir: { medium: 'Memory' }, name: VOLUME_END_ENTITY },
    {
      name: VOLUME_TOKEN,
      projected: {
        sources: [{ serviceAccountToken: { audience: 'identity.l5d.io', expirationSeconds: 86400, path: VOLUME_TOKEN } }],
      },
    },
  ];
}

const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const env = (name: string, value: string): EnvVar => ({ name, value });

export function proxyEnv(ctx: RenderContext): EnvVar[] {
  const v = ctx.values;
  const p = v.proxy;
  const ns = ctx.controlPlaneNamespace;
  const cd = v.clusterDomain;
  const td = v.identityTrustDomain || cd;
  const n = CONTROL_PLANE_NAMES;
  const out: EnvVar[] = [
    field('_pod_name', 'metadata.name'),
    field('_pod_ns', 'metadata.namespace'),
    field('_pod_uid', 'metadata.uid'),
    field('_pod_ip', 'status.podIP'),
    field('_pod_nodeName', 'spec.nodeName'),
    env('_pod_containerName', PROXY_CONTAINER),
  ];
  if (p.cores !== null) out.push(env('LINKERD2_PROXY_CORES', String(p.cores)));
  else {
    out.push(env('LINKERD2_PROXY_CORES', String(p.runtime.workers.minimum)));
    out.push(env('LINKERD2_PROXY_CORES_MIN', String(p.runtime.workers.minimum)));
    if (p.runtime.workers.maximum !== null) out.push(env('LINKERD2_PROXY_CORES_MAX', String(p.runtime.workers.maximum)));
    if (p.runtime.workers.maximumCPURatio !== null) out.push(env('LINKERD2_PROXY_CORES_MAX_RATIO', String(p.runtime.workers.maximumCPURatio)));
  }
  if (p.requireIdentityOnInboundPorts) out.push(env('LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_IDENTITY', p.requireIdentityOnInboundPorts));
  if (p.requireTLSOnInboundPorts) out.push(env('LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_TLS', p.requireTLSOnInboundPorts));
  out.push(env('LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED', String(p.enableShutdownEndpoint)));
  out.push(env('LINKERD2_PROXY_LOG', p.logHTTPHeaders === 'insecure' ? p.logLevel : `${p.logLevel},[{headers}]=off,[{request}]=off`));
  out.push(env('LINKERD2_PROXY_LOG_FORMAT', p.logFormat));
  out.push(env('LINKERD2_PROXY_DESTINATION_SVC_ADDR', `${n.destinationHeadless}.${ns}.svc.${cd}.:8086`));
  out.push(env('TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR', `${n.destinationService}.${ns}.svc.${cd}.:8086`));
  out.push(env('LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS', v.clusterNetworks));
  out.push(env('LINKERD2_PROXY_POLICY_SVC_ADDR', `${n.policy}.${ns}.svc.${cd}.:8090`));
  out.push(env('TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR', `${n.destinationService}.${ns}.svc.${cd}.:8090`));
  out.push(env('LINKERD2_PROXY_POLICY_WORKLOAD', '{"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}\n'));
  out.push(env('LINKERD2_PROXY_INBOUND_DEFAULT_POLICY', p.defaultInboundPolicy));
  out.push(env('LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS', v.clusterNetworks));
  out.push(env('LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT', p.control.streams.initialTimeout));
  out.push(env('LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT', p.control.streams.idleTimeout));
  out.push(env('LINKERD2_PROXY_CONTROL_STREAM_LIFETIME', p.control.streams.lifetime));
  out.push(env('LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT', p.inboundConnectTimeout));
  out.push(env('LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT', p.outboundConnectTimeout));
  out.push(env('LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT', p.outboundDiscoveryCacheUnusedTimeout));
  out.push(env('LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT', p.inboundDiscoveryCacheUnusedTimeout));
  if (p.disableOutboundProtocolDetectTimeout) out.push(env('LINKERD2_PROXY_OUTBOUND_DETECT_TIMEOUT', '365d'));
  if (p.disableInboundProtocolDetectTimeout) out.push(env('LINKERD2_PROXY_INBOUND_DETECT_TIMEOUT', '365d'));
  const ipv6 = !v.disableIPv6;
  out.push(env('LINKERD2_PROXY_CONTROL_LISTEN_ADDR', `${ipv6 ? '[::]' : '0.0.0.0'}:${p.ports.control}`));
  out.push(env('LINKERD2_PROXY_ADMIN_LISTEN_ADDR', `${ipv6 ? '[::]' : '0.0.0.0'}:${p.ports.admin}`));
  out.push(env('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR', `127.0.0.1:${p.ports.outbound}`));
  out.push(env('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS', ipv6 ? `127.0.0.1:${p.ports.outbound},[::1]:${p.ports.outbound}` : `127.0.0.1:${p.ports.outbound}`));
  out.push(env('LINKERD2_PROXY_INBOUND_LISTEN_ADDR', `${ipv6 ? '[::]' : '0.0.0.0'}:${p.ports.inbound}`));
  out.push(field('LINKERD2_PROXY_INBOUND_IPS', 'status.podIPs'));
  if (ctx.inboundPorts) out.push(env('LINKERD2_PROXY_INBOUND_PORTS', ctx.inboundPorts));
  if (p.isGateway) out.push(env('LINKERD2_PROXY_INBOUND_GATEWAY_SUFFIXES', `svc.${cd}.`));
  if (p.isIngress) out.push(env('LINKERD2_PROXY_INGRESS_MODE', 'true'));
  out.push(env('LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES', p.enableExternalProfiles ? '.' : `svc.${cd}.`));
  out.push(env('LINKERD2_PROXY_INBOUND_ACCEPT_KEEPALIVE', '10000ms'));
  out.push(env('LINKERD2_PROXY_OUTBOUND_CONNECT_KEEPALIVE', '10000ms'));
  out.push(env('LINKERD2_PROXY_INBOUND_ACCEPT_USER_TIMEOUT', '30s'));
  out.push(env('LINKERD2_PROXY_OUTBOUND_CONNECT_USER_TIMEOUT', '30s'));
  out.push(env('LINKERD2_PROXY_OUTBOUND_METRICS_HOSTNAME_LABELS', String(p.metrics.hostnameLabels)));
  out.push(env('LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL', p.inbound.server.http2.keepAliveInterval));
  out.push(env('LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT', p.inbound.server.http2.keepAliveTimeout));
  out.push(env('LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL', p.outbound.server.http2.keepAliveInterval));
  out.push(env('LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT', p.outbound.server.http2.keepAliveTimeout));
  if (ctx.opaquePorts) out.push(env('LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION', ctx.opaquePorts));
  out.push(env('LINKERD2_PROXY_DESTINATION_CONTEXT', '{"ns":"$(_pod_ns)", "nodeName":"$(_pod_nodeName)", "pod":"$(_pod_name)"}\n'));
  out.push(field('_pod_sa', 'spec.serviceAccountName'));
  out.push(env('_l5d_ns', ns));
  out.push(env('_l5d_trustdomain', td));
  out.push(env('LINKERD2_PROXY_IDENTITY_DIR', IDENTITY_DIR));
  out.push(env('LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS', v.identityTrustAnchorsPEM));
  out.push(env('LINKERD2_PROXY_IDENTITY_TOKEN_FILE', `${TOKEN_DIR}/${VOLUME_TOKEN}`));
  out.push(env('LINKERD2_PROXY_IDENTITY_SVC_ADDR', `${n.identityHeadless}.${ns}.svc.${cd}.:8080`));
  out.push(env('LINKERD2_PROXY_IDENTITY_LOCAL_NAME', `$(_pod_sa).$(_pod_ns).serviceaccount.identity.${ns}.${td}`));
  out.push(env('LINKERD2_PROXY_IDENTITY_SVC_NAME', `${n.identityAccount}.${ns}.serviceaccount.identity.${ns}.${td}`));
  out.push(env('LINKERD2_PROXY_DESTINATION_SVC_NAME', `${n.destinationAccount}.${ns}.serviceaccount.identity.${ns}.${td}`));
  out.push(env('LINKERD2_PROXY_POLICY_SVC_NAME', `${n.destinationAccount}.${ns}.serviceaccount.identity.${ns}.${td}`));
  if (p.accessLog) out.push(env('LINKERD2_PROXY_ACCESS_LOG', p.accessLog));
  if (p.shutdownGracePeriod) out.push(env('LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD', p.shutdownGracePeriod));
  out.push(...tracingEnv(ctx, td));
  // Extra env: chart additionalEnv < annotation env (namespace < workload), replacing by name; experimentalEnv last.
  const extra = new Map<string, EnvVar>();
  for (const e of [...p.additionalEnv, ...ctx.annotationEnv, ...p.experimentalEnv]) extra.set(e.name, e);
  out.push(...extra.values());
  return out;
}

function resources(v: MutableValues): Record<string, unknown> | undefined {
  const r = v.proxy.resources;
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  for (const key of ['cpu', 'memory', 'ephemeral-storage'] as const) {
    if (r[key].limit) limits[key] = r[key].limit;
    if (r[key].request) requests[key] = r[key].request;
  }
  const out: Record<string, unknown> = {};
  if (Object.keys(limits).length > 0) out['limits'] = limits;
  if (Object.keys(requests).length > 0) out['requests'] = requests;
  return Object.keys(out).length > 0 ? out : undefined;
}

const probe = (path: string, port: number, p: Record<string, number | undefined>) => {
  const out: Record<string, unknown> = { httpGet: { path, port } };
  for (const [k, val] of Object.entries(p)) if (val !== undefined) out[k] = val;
  return out;
};

export function proxyContainer(ctx: RenderContext): Record<string, unknown> {
  const v = ctx.values;
  const p = v.proxy;
  const native = p.nativeSidecar;
  const c: Record<string, unknown> = {
    name: PROXY_CONTAINER,
    image: imageRef(p.image, v.linkerdVersion),
    imagePullPolicy: pullPolicy(p.image.pullPolicy, v),
    env: proxyEnv(ctx),
  };
  if (!native) {
    const lifecycle: Record<string, unknown> = {};
    if (p.await) lifecycle['postStart'] = { exec: { command: ['/usr/lib/linkerd/linkerd-await', '--timeout=2m', `--port=${p.ports.admin}`] } };
    if (p.waitBeforeExitSeconds > 0) lifecycle['preStop'] = { exec: { command: ['/bin/sleep', String(p.waitBeforeExitSeconds)] } };
    if (Object.keys(lifecycle).length > 0) c['lifecycle'] = lifecycle;
  }
  c['livenessProbe'] = probe('/live', p.ports.admin, p.livenessProbe as Record<string, number | undefined>);
  c['ports'] = [
    { containerPort: p.ports.inbound, name: 'linkerd-proxy' },
    { containerPort: p.ports.admin, name: 'linkerd-admin' },
  ];
  c['readinessProbe'] = probe('/ready', p.ports.admin, p.readinessProbe as Record<string, number | undefined>);
  const res = resources(v);
  if (res) c['resources'] = res;
  if (native) c['restartPolicy'] = 'Always';
  const caps = appCapabilities(ctx.spec);
  c['securityContext'] = {
    allowPrivilegeEscalation: false,
    ...(caps ? { capabilities: caps } : {}),
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: p.uid,
    ...(p.gid >= 0 ? { runAsGroup: p.gid } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (native && p.await) c['startupProbe'] = probe('/ready', p.ports.admin, p.startupProbe as Record<string, number | undefined>);
  c['terminationMessagePolicy'] = 'FallbackToLogsOnError';
  const mounts: VolumeMount[] = [
    { mountPath: IDENTITY_DIR, name: VOLUME_END_ENTITY },
    { mountPath: TOKEN_DIR, name: VOLUME_TOKEN },
  ];
  // When the app mounts its service-account token explicitly, the proxy gets the same mount.
  const appMounts: unknown = containersOf(ctx.spec)[0]?.volumeMounts;
  const saMount = Array.isArray(appMounts) ? (appMounts as VolumeMount[]).find((m) => isPlainObject(m) && m.mountPath === SA_TOKEN_DIR) : undefined;
  if (saMount) mounts.push({ ...saMount });
  if (tracingEnabled(ctx.values)) mounts.push({ mountPath: PODINFO_DIR, name: VOLUME_PODINFO });
  c['volumeMounts'] = mounts;
  return c;
}

