// One watch per resource kind through libs/k8s, feeding the ClusterIndex with slim records. The watch
// cache's transform turns each object into its record as it arrives (list items and events alike), so
// the cache holds only the record plus name, namespace and resourceVersion, never whole objects.
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { WatchCache, type ResourceRef, type WatchLogger } from '@trellis/k8s';
import type { AnnotationProblem } from '../policy/annotations.ts';
import {
  authorizationPolicyRecord,
  meshTLSAuthenticationRecord,
  networkAuthenticationRecord,
  serverAuthorizationRecord,
  type AuthorizationPolicyRecord,
  type MeshTLSAuthenticationRecord,
  type NetworkAuthenticationRecord,
  type ServerAuthorizationRecord,
} from '../policy/authz.ts';
import { GROUP_GATEWAY, GROUP_POLICY, routeRecord, type RouteKind, type RouteRecord } from '../policy/routes.ts';
import type { ClusterIndex } from './cluster-index.ts';
import {
  namespaceRecord,
  nodeZone,
  podRecord,
  profileRecord,
  serverRecord,
  serviceRecord,
  sliceRecord,
  type CustomObject,
  type ProfileRecord,
  type ServerRecord,
} from './model.ts';

export const RESOURCES = {
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  endpointSlices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' },
  pods: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  nodes: { apiVersion: 'v1', kind: 'Node', plural: 'nodes' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' },
  serviceProfiles: { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', plural: 'serviceprofiles' },
  servers: { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', plural: 'servers' },
  policyHttpRoutes: { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'HTTPRoute', plural: 'httproutes' },
  gatewayHttpRoutes: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes' },
  gatewayGrpcRoutes: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', plural: 'grpcroutes' },
  authorizationPolicies: { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies' },
  serverAuthorizations: { apiVersion: 'policy.linkerd.io/v1beta1', kind: 'ServerAuthorization', plural: 'serverauthorizations' },
  meshTLSAuthentications: { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'MeshTLSAuthentication', plural: 'meshtlsauthentications' },
  networkAuthentications: { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'NetworkAuthentication', plural: 'networkauthentications' },
} as const satisfies Record<string, ResourceRef>;

/**
 * Resources whose CRDs a cluster may lack (trellis-crds installs the Gateway API routes only when asked; a
 * cluster set up for discovery alone may have only ServiceProfile and Server). Served at start, they are
 * synced before the APIs serve, like the rest; missing at start, they are watched once the API server serves
 * them (looked for every OPTIONAL_RECHECK_MS) and do not hold back start-up or readiness.
 */
const OPTIONAL: readonly ResourceRef[] = [
  RESOURCES.policyHttpRoutes,
  RESOURCES.gatewayHttpRoutes,
  RESOURCES.gatewayGrpcRoutes,
  RESOURCES.authorizationPolicies,
  RESOURCES.serverAuthorizations,
  RESOURCES.meshTLSAuthentications,
  RESOURCES.networkAuthentications,
];
const OPTIONAL_RECHECK_MS = 60_000;

export interface Watches {
  readonly caches: readonly WatchCache<KubernetesObject, KubernetesObject>[];
  /** True once every cache has synced at least once (and is in sync now). */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchOptions {
  readonly logger?: WatchLogger;
  readonly backoff?: { initialMs?: number; maxMs?: number };
}

/** What the watch caches keep of an object: its identity and the record the index needs. */
export interface Slim<R> extends KubernetesObject {
  readonly record: R;
}

/** The slim form of an object (the watch cache copies name, namespace and resourceVersion onto it). */
export const slim = <R>(record: R): Slim<R> => ({ record });

export interface OptionalStart {
  /** Resolves once the cache has synced (never, if the resource never appears or the start is cancelled). */
  readonly started: Promise<void>;
  /** Times the API server was asked whether the resource is served. */
  readonly looks: number;
  cancel(): void;
}

/**
 * Starts `cache` once the API server serves its custom resource: a missing CRD (404) is logged once at info
 * and looked for again every `recheckMs`, so a cluster without it gets neither an error loop nor a stuck start.
 */
/** False only when the API server says it does not serve the resource (404); other errors are for the watch to retry. */
export async function isServed(kc: KubeConfig, ref: ResourceRef): Promise<boolean> {
  const [group = '', version = ''] = ref.apiVersion.split('/');
  try {
    await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group, version, plural: ref.plural, limit: 1 });
    return true;
  } catch (err) {
    return (err as { code?: number }).code !== 404;
  }
}

export function startWhenServed(kc: KubeConfig, ref: ResourceRef, cache: WatchCache<KubernetesObject, KubernetesObject>, opts: { logger?: WatchLogger; recheckMs: number }): OptionalStart {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const [group = '', version = ''] = ref.apiVersion.split('/');
  const resource = `${ref.plural}.${group}/${version}`;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let told = false;
  let looks = 0;
  let resolveStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const attempt = async (): Promise<void> => {
    try {
      looks++;
      await custom.listClusterCustomObject({ group, version, plural: ref.plural, limit: 1 });
    } catch (err) {
      if (cancelled) return;
      if ((err as { code?: number }).code === 404) {
        if (!told) opts.logger?.info({ resource }, `${ref.kind} (${group}/${version}) is not installed; not watched until it is`);
        told = true;
      } else {
        opts.logger?.warn({ resource, err: (err as Error).message }, `cannot look for ${ref.kind} (${group}/${version})`);
      }
      timer = setTimeout(() => void attempt(), opts.recheckMs);
      timer.unref();
      return;
    }
    if (cancelled) return;
    await cache.start();
    resolveStarted();
  };
  void attempt();
  return {
    started,
    get looks() {
      return looks;
    },
    cancel: () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export function createWatches(kc: KubeConfig, index: ClusterIndex, opts: WatchOptions = {}): Watches {
  const caches: WatchCache<KubernetesObject, KubernetesObject>[] = [];
  const optional: { ref: ResourceRef; cache: WatchCache<KubernetesObject, KubernetesObject> }[] = [];
  const starters: OptionalStart[] = [];
  // Optional caches whose resource was served at start: required from then on.
  const awaited: WatchCache<KubernetesObject, KubernetesObject>[] = [];
  function watch<T extends KubernetesObject, R>(ref: ResourceRef, toRecord: (obj: T) => R, upsert: (rec: R, ns: string, name: string) => void, remove: (ns: string, name: string) => void): void {
    const cache = new WatchCache<T, Slim<R>>(kc, ref, {
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      transform: (obj) => slim(toRecord(obj)),
    });
    const onUpsert = (obj: Slim<R>) => upsert(obj.record, obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
    cache.on('add', onUpsert);
    cache.on('update', onUpsert);
    cache.on('delete', (obj) => remove(obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
    const erased = cache as unknown as WatchCache<KubernetesObject, KubernetesObject>;
    if (OPTIONAL.includes(ref)) optional.push({ ref, cache: erased });
    else caches.push(erased);
  }

  // A bad annotation is ignored on its own; say so once per change of the object, naming it.
  const reportProblems = (kind: string, ns: string, name: string, problems: readonly AnnotationProblem[]) => {
    for (const p of problems) opts.logger?.warn({ kind, namespace: ns, name, annotation: p.annotation, value: p.value, reason: p.reason }, `ignoring invalid annotation ${p.annotation} on ${kind} ${ns}/${name}`);
  };
  watch(
    RESOURCES.services,
    serviceRecord,
    (r) => {
      reportProblems('Service', r.namespace, r.name, r.outbound.problems);
      index.upsertService(r);
    },
    (ns, n) => index.deleteService(ns, n),
  );
  watch(
    RESOURCES.endpointSlices,
    sliceRecord,
    (r, ns, n) => {
      // A slice that lost its service-name label no longer belongs to any Service.
      if (r) index.upsertSlice(r);
      else index.deleteSlice(ns, n);
    },
    (ns, n) => index.deleteSlice(ns, n),
  );
  watch(RESOURCES.pods, podRecord, (r) => index.upsertPod(r), (ns, n) => index.deletePod(ns, n));
  watch(RESOURCES.nodes, nodeZone, (zone, _ns, n) => index.upsertNode(n, zone), (_ns, n) => index.deleteNode(n));
  watch(RESOURCES.namespaces, namespaceRecord, (r) => index.upsertNamespace(r), (_ns, n) => index.deleteNamespace(n));
  watch<CustomObject & KubernetesObject, ProfileRecord>(RESOURCES.serviceProfiles, profileRecord, (r) => index.upsertProfile(r), (ns, n) => index.deleteProfile(ns, n));
  watch<CustomObject & KubernetesObject, ServerRecord>(RESOURCES.servers, serverRecord, (r) => index.upsertServer(r), (ns, n) => index.deleteServer(ns, n));
  const routes = (ref: ResourceRef, group: string, kind: RouteKind) =>
    watch<CustomObject & KubernetesObject, RouteRecord>(
      ref,
      (obj) => routeRecord(obj, group, kind),
      (r) => {
        if (r.error) opts.logger?.warn({ kind, group, namespace: r.namespace, name: r.name, error: r.error }, `ignoring ${kind} ${r.namespace}/${r.name}: ${r.error}`);
        reportProblems(kind, r.namespace, r.name, [...r.annotations.problems, ...r.problems]);
        index.upsertRoute(r);
      },
      (ns, n) => index.deleteRoute(group, kind, ns, n),
    );
  routes(RESOURCES.policyHttpRoutes, GROUP_POLICY, 'HTTPRoute');
  routes(RESOURCES.gatewayHttpRoutes, GROUP_GATEWAY, 'HTTPRoute');
  routes(RESOURCES.gatewayGrpcRoutes, GROUP_GATEWAY, 'GRPCRoute');
  type Custom = CustomObject & KubernetesObject;
  const unusable = (kind: string, r: { namespace: string; name: string; error: string | undefined }) => {
    if (r.error) opts.logger?.warn({ kind, namespace: r.namespace, name: r.name, error: r.error }, `${kind} ${r.namespace}/${r.name} cannot be used: ${r.error}`);
  };
  watch<Custom, AuthorizationPolicyRecord>(RESOURCES.authorizationPolicies, authorizationPolicyRecord, (r) => index.upsertAuthorizationPolicy(r), (ns, n) => index.deleteAuthorizationPolicy(ns, n));
  watch<Custom, ServerAuthorizationRecord>(
    RESOURCES.serverAuthorizations,
    serverAuthorizationRecord,
    (r) => {
      unusable('ServerAuthorization', r);
      index.upsertServerAuthorization(r);
    },
    (ns, n) => index.deleteServerAuthorization(ns, n),
  );
  watch<Custom, MeshTLSAuthenticationRecord>(RESOURCES.meshTLSAuthentications, meshTLSAuthenticationRecord, (r) => index.upsertMeshTLSAuthentication(r), (ns, n) => index.deleteMeshTLSAuthentication(ns, n));
  watch<Custom, NetworkAuthenticationRecord>(
    RESOURCES.networkAuthentications,
    networkAuthenticationRecord,
    (r) => {
      unusable('NetworkAuthentication', r);
      index.upsertNetworkAuthentication(r);
    },
    (ns, n) => index.deleteNetworkAuthentication(ns, n),
  );

  return {
    caches: [...caches, ...optional.map((o) => o.cache)],
    synced: () => caches.every((c) => c.synced) && awaited.every((c) => c.synced),
    start: async () => {
      const served = await Promise.all(optional.map((o) => isServed(kc, o.ref)));
      optional.forEach((o, i) => {
        if (served[i]) awaited.push(o.cache);
        else starters.push(startWhenServed(kc, o.ref, o.cache, { ...(opts.logger ? { logger: opts.logger } : {}), recheckMs: OPTIONAL_RECHECK_MS }));
      });
      await Promise.all([...caches, ...awaited].map((c) => c.start()));
    },
    stop: async () => {
      for (const s of starters.splice(0)) s.cancel();
      await Promise.all([...caches, ...optional.map((o) => o.cache)].map((c) => c.stop()));
    },
  };
}
