// One watch per resource kind through libs/k8s, feeding the ClusterIndex with slim records. After a
// record is taken, the object held by the watch cache is cut down to its name, namespace and
// resourceVersion (all the cache needs to diff relists), so full objects never stay in memory.
import type { KubeConfig, KubernetesObject, V1EndpointSlice, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { WatchCache, type ResourceRef, type WatchLogger } from '@trellis/k8s';
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
} from './model.ts';

export const RESOURCES = {
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  endpointSlices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' },
  pods: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  nodes: { apiVersion: 'v1', kind: 'Node', plural: 'nodes' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' },
  serviceProfiles: { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', plural: 'serviceprofiles' },
  servers: { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', plural: 'servers' },
} as const satisfies Record<string, ResourceRef>;

export interface Watches {
  readonly caches: readonly WatchCache<KubernetesObject>[];
  /** True once every cache has synced at least once (and is in sync now). */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchOptions {
  readonly logger?: WatchLogger;
  readonly backoff?: { initialMs?: number; maxMs?: number };
}

/** Cuts a cached object down to what the watch cache needs to recognise it on the next relist. */
export function shrinkInPlace(obj: KubernetesObject): void {
  const meta = obj.metadata;
  for (const k of Object.keys(obj)) delete (obj as Record<string, unknown>)[k];
  obj.metadata = { name: meta?.name, namespace: meta?.namespace, resourceVersion: meta?.resourceVersion } as KubernetesObject['metadata'];
}

export function createWatches(kc: KubeConfig, index: ClusterIndex, opts: WatchOptions = {}): Watches {
  const caches: WatchCache<KubernetesObject>[] = [];
  function watch<T extends KubernetesObject>(ref: ResourceRef, upsert: (obj: T) => void, remove: (ns: string, name: string) => void): void {
    const cache = new WatchCache<T>(kc, ref, { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.backoff ? { backoff: opts.backoff } : {}) });
    const onUpsert = (obj: T) => {
      upsert(obj);
      shrinkInPlace(obj);
    };
    cache.on('add', onUpsert);
    cache.on('update', onUpsert);
    cache.on('delete', (obj) => remove(obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
    caches.push(cache as unknown as WatchCache<KubernetesObject>);
  }

  watch<V1Service>(RESOURCES.services, (o) => index.upsertService(serviceRecord(o)), (ns, n) => index.deleteService(ns, n));
  watch<V1EndpointSlice>(
    RESOURCES.endpointSlices,
    (o) => {
      const rec = sliceRecord(o);
      // A slice that lost its service-name label no longer belongs to any Service.
      if (rec) index.upsertSlice(rec);
      else index.deleteSlice(o.metadata?.namespace ?? '', o.metadata?.name ?? '');
    },
    (ns, n) => index.deleteSlice(ns, n),
  );
  watch<V1Pod>(RESOURCES.pods, (o) => index.upsertPod(podRecord(o)), (ns, n) => index.deletePod(ns, n));
  watch<V1Node>(RESOURCES.nodes, (o) => index.upsertNode(o.metadata?.name ?? '', nodeZone(o)), (_ns, n) => index.deleteNode(n));
  watch<V1Namespace>(RESOURCES.namespaces, (o) => index.upsertNamespace(namespaceRecord(o)), (_ns, n) => index.deleteNamespace(n));
  watch<CustomObject & KubernetesObject>(RESOURCES.serviceProfiles, (o) => index.upsertProfile(profileRecord(o)), (ns, n) => index.deleteProfile(ns, n));
  watch<CustomObject & KubernetesObject>(RESOURCES.servers, (o) => index.upsertServer(serverRecord(o)), (ns, n) => index.deleteServer(ns, n));

  return {
    caches,
    synced: () => caches.every((c) => c.synced),
    start: async () => {
      await Promise.all(caches.map((c) => c.start()));
    },
    stop: async () => {
      await Promise.all(caches.map((c) => c.stop()));
    },
  };
}
