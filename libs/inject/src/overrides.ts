// Applies the pod's config annotations (after namespace inheritance) to the values, as Linkerd's
// GetOverriddenValues does. A value that does not parse is ignored with a warning, so a typo in one
// annotation never blocks a pod from starting; the warning names the annotation and the value.
import {
  parseBoolean,
  parseCidrList,
  parseDuration,
  parseEnum,
  parseInteger,
  parsePort,
  parsePortRanges,
  TrellisError,
} from '@trellis/config';
import { A, DEFAULT_INBOUND_POLICIES } from './annotations.ts';
import { cloneValues, isPlainObject, type EnvVar, type MutableValues, type Values } from './values.ts';

export interface ProxyOptions {
  readonly values: MutableValues;
  readonly debugSidecar: boolean;
  /** Env from config.linkerd.io/proxy-additional-env (namespace value merged under the workload's). */
  readonly annotationEnv: readonly EnvVar[];
  readonly warnings: string[];
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** CPU quantity in cores ("500m" → 0.5, "2" → 2); undefined when it is not a CPU quantity. */
export function cpuCores(q: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(m?)$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'm' ? n / 1000 : n;
}

export function applyAnnotations(
  base: Values,
  podAnnotations: Readonly<Record<string, string>>,
  nsAnnotations: Readonly<Record<string, string>>,
): ProxyOptions {
  const v = cloneValues(base);
  const warnings: string[] = [];
  const ann = podAnnotations;
  let debugSidecar = false;

  const use = (key: string, apply: (value: string) => void) => {
    const raw = ann[key];
    if (raw === undefined) return;
    try {
      apply(raw);
    } catch (err) {
      const why = err instanceof TrellisError ? err.message : String(err);
      warnings.push(`ignoring annotation ${key}: ${why}`);
    }
  };
  const ports = (key: string, value: string) => {
    parsePortRanges(key, value);
    return value;
  };
  const ms = (key: string, value: string) => `${Math.round(parseDuration(key, value))}ms`;
  const secs = (key: string, value: string) => `${Math.round(parseDuration(key, value) / 1000)}s`;
  const quantity = (key: string, value: string) => {
    if (!QUANTITY.test(value.trim())) throw new TrellisError('TRELLIS_ERR_CONFIG', `invalid value ${JSON.stringify(value)} for ${key}: expected a Kubernetes quantity such as 100m or 64Mi`);
    return value.trim();
  };
  const enabled = (key: string, value: string) => parseEnum(key, value, ['enabled', 'disabled']) === 'enabled';

  use(A.proxyImage, (x) => (v.proxy.image.name = x));
  use(A.proxyVersion, (x) => (v.proxy.image.version = x));
  use(A.imagePullPolicy, (x) => {
    v.proxy.image.pullPolicy = parseEnum(A.imagePullPolicy, x, PULL_POLICIES);
    v.proxyInit.image.pullPolicy = v.proxy.image.pullPolicy;
  });
  use(A.initImage, (x) => (v.proxyInit.image.name = x));
  use(A.initImageVersion, (x) => (v.proxyInit.image.version = x));
  use(A.controlPort, (x) => (v.proxy.ports.control = parsePort(A.controlPort, x)));
  use(A.inboundPort, (x) => (v.proxy.ports.inbound = parsePort(A.inboundPort, x)));
  use(A.adminPort, (x) => (v.proxy.ports.admin = parsePort(A.adminPort, x)));
  use(A.outboundPort, (x) => (v.proxy.ports.outbound = parsePort(A.outboundPort, x)));
  use(A.podInboundPorts, (x) => (v.proxy.podInboundPorts = ports(A.podInboundPorts, x)));
  use(A.skipInboundPorts, (x) => (v.proxyInit.ignoreInboundPorts = ports(A.skipInboundPorts, x)));
  use(A.skipOutboundPorts, (x) => (v.proxyInit.ignoreOutboundPorts = ports(A.skipOutboundPorts, x)));
  use(A.skipSubnets, (x) => {
    parseCidrList(A.skipSubnets, x);
    v.proxyInit.skipSubnets = x;
  });
  use(A.opaquePorts, (x) => (v.proxy.opaquePorts = x));
  use(A.cpuRequest, (x) => {
    v.proxy.resources.cpu.request = quantity(A.cpuRequest, x);
    const cores = cpuCores(x);
    if (cores !== undefined) v.proxy.runtime.workers.minimum = Math.max(1, Math.ceil(cores));
  });
  use(A.cpuLimit, (x) => {
    v.proxy.resources.cpu.limit = quantity(A.cpuLimit, x);
    const cores = cpuCores(x);
    if (cores !== undefined) v.proxy.runtime.workers.maximum = Math.max(1, Math.ceil(cores));
  });
  use(A.cpuRatioLimit, (x) => {
    const r = Number(x);
    if (!(r > 0 && r < 1)) throw new TrellisError('TRELLIS_ERR_CONFIG', `invalid value ${JSON.stringify(x)} for ${A.cpuRatioLimit}: expected a number between 0 and 1`);
    v.proxy.runtime.workers.maximumCPURatio = r;
  });
  use(A.memoryRequest, (x) => (v.proxy.resources.memory.request = quantity(A.memoryRequest, x)));
  use(A.memoryLimit, (x) => (v.proxy.resources.memory.limit = quantity(A.memoryLimit, x)));
  use(A.ephemeralStorageRequest, (x) => (v.proxy.resources['ephemeral-storage'].request = quantity(A.ephemeralStorageRequest, x)));
  use(A.ephemeralStorageLimit, (x) => (v.proxy.resources['ephemeral-storage'].limit = quantity(A.ephemeralStorageLimit, x)));
  use(A.proxyUid, (x) => (v.proxy.uid = parseInteger(A.proxyUid, x, 0)));
  use(A.proxyGid, (x) => (v.proxy.gid = parseInteger(A.proxyGid, x, -1)));
  use(A.logLevel, (x) => (v.proxy.logLevel = x));
  use(A.logFormat, (x) => (v.proxy.logFormat = parseEnum(A.logFormat, x, ['plain', 'json'])));
  use(A.logHttpHeaders, (x) => (v.proxy.logHTTPHeaders = parseEnum(A.logHttpHeaders, x, ['off', 'insecure'])));
  use(A.accessLog, (x) => (v.proxy.accessLog = parseEnum(A.accessLog, x, ['apache', 'json'])));
  use(A.adminShutdown, (x) => (v.proxy.enableShutdownEndpoint = enabled(A.adminShutdown, x)));
  use(A.enableExternalProfiles, (x) => (v.proxy.enableExternalProfiles = parseBoolean(A.enableExternalProfiles, x)));
  use(A.requireIdentityInboundPorts, (x) => (v.proxy.requireIdentityOnInboundPorts = ports(A.requireIdentityInboundPorts, x)));
  // A collector named on the workload or its namespace turns tracing on for it, as Linkerd's tracing injector does.
  use(A.traceCollector, (x) => {
    const addr = x.trim();
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(addr);
    if (!m) throw new TrellisError('TRELLIS_ERR_CONFIG', `invalid value ${JSON.stringify(x)} for ${A.traceCollector}: expected host:port of an OTLP gRPC collector`);
    parsePort(A.traceCollector, m[2] as string);
    v.proxy.tracing.enabled = true;
    v.proxy.tracing.collector.endpoint = addr;
  });
  use(A.traceCollectorServiceAccount, (x) => {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(x.trim())) {
      throw new TrellisError('TRELLIS_ERR_CONFIG', `invalid value ${JSON.stringify(x)} for ${A.traceCollectorServiceAccount}: expected a service account name`);
    }
    v.proxy.tracing.collector.meshIdentity.serviceAccountName = x.trim();
    v.proxy.tracing.collector.meshIdentity.namespace = '';
  });
  use(A.metricsHostnameLabels, (x) => (v.proxy.metrics.hostnameLabels = parseBoolean(A.metricsHostnameLabels, x)));
  use(A.outboundConnectTimeout, (x) => (v.proxy.outboundConnectTimeout = ms(A.outboundConnectTimeout, x)));
  use(A.inboundConnectTimeout, (x) => (v.proxy.inboundConnectTimeout = ms(A.inboundConnectTimeout, x)));
  use(A.outboundDiscoveryCacheUnusedTimeout, (x) => (v.proxy.outboundDiscoveryCacheUnusedTimeout = secs(A.outboundDiscoveryCacheUnusedTimeout, x)));
  use(A.inboundDiscoveryCacheUnusedTimeout, (x) => (v.proxy.inboundDiscoveryCacheUnusedTimeout = secs(A.inboundDiscoveryCacheUnusedTimeout, x)));
  use(A.disableOutboundDetectTimeout, (x) => (v.proxy.disableOutboundProtocolDetectTimeout = parseBoolean(A.disableOutboundDetectTimeout, x)));
  use(A.disableInboundDetectTimeout, (x) => (v.proxy.disableInboundProtocolDetectTimeout = parseBoolean(A.disableInboundDetectTimeout, x)));
  use(A.shutdownGracePeriod, (x) => (v.proxy.shutdownGracePeriod = ms(A.shutdownGracePeriod, x)));
  use(A.proxyAwait, (x) => (v.proxy.await = enabled(A.proxyAwait, x)));
  use(A.defaultInboundPolicy, (x) => (v.proxy.defaultInboundPolicy = parseEnum(A.defaultInboundPolicy, x, DEFAULT_INBOUND_POLICIES)));
  use(A.enableGateway, (x) => (v.proxy.isGateway = parseBoolean(A.enableGateway, x)));
  use(A.enableDebugSidecar, (x) => (debugSidecar = parseBoolean(A.enableDebugSidecar, x)));
  use(A.debugImage, (x) => (v.debugContainer.image.name = x));
  use(A.debugImageVersion, (x) => (v.debugContainer.image.version = x));
  use(A.debugImagePullPolicy, (x) => (v.debugContainer.image.pullPolicy = parseEnum(A.debugImagePullPolicy, x, PULL_POLICIES)));
  use(A.closeWaitTimeout, (x) => {
    v.proxyInit.closeWaitTimeoutSecs = Math.round(parseDuration(A.closeWaitTimeout, x) / 1000);
    // Changing the conntrack close-wait timeout needs a privileged, root init container.
    v.proxyInit.privileged = true;
    v.proxyInit.runAsRoot = true;
  });
  // The deprecated alpha/beta spellings count only when the current key is absent.
  for (const key of [A.nativeSidecarAlpha, A.nativeSidecarBeta, A.nativeSidecar]) {
    use(key, (x) => (v.proxy.nativeSidecar = parseBoolean(key, x)));
  }
  use(A.waitBeforeExitSeconds, (x) => (v.proxy.waitBeforeExitSeconds = parseInteger(A.waitBeforeExitSeconds, x, 0)));

  const annotationEnv = mergeEnv(
    parseEnvAnnotation(nsAnnotations[A.additionalEnv], 'namespace', warnings),
    parseEnvAnnotation(ann[A.additionalEnv], 'workload', warnings),
  );
  return { values: v, debugSidecar, annotationEnv, warnings };
}

function parseEnvAnnotation(raw: string | undefined, where: string, warnings: string[]): EnvVar[] {
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    warnings.push(`ignoring annotation ${A.additionalEnv} on the ${where}: not a JSON list of environment variables`);
    return [];
  }
  if (!Array.isArray(parsed) || !parsed.every((e) => isPlainObject(e) && typeof e['name'] === 'string' && e['name'] !== '')) {
    warnings.push(`ignoring annotation ${A.additionalEnv} on the ${where}: expected a JSON list of {"name": ..., "value": ...}`);
    return [];
  }
  return parsed as EnvVar[];
}

/** Later lists win by name; order is first appearance. */
export function mergeEnv(...lists: readonly (readonly EnvVar[])[]): EnvVar[] {
  const byName = new Map<string, EnvVar>();
  for (const list of lists) for (const e of list) byName.set(e.name, e);
  return [...byName.values()];
}
