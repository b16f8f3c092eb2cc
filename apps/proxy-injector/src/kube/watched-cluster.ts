// Cluster with namespaces from a @trellis/k8s watch cache: a pod's namespace is answered from memory, and an
// annotation added to a namespace applies to the next pod without waiting out a TTL. Owners and events go through
// ApiCluster (a pod's ReplicaSet is often younger than any cache could be).
import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import type { NamespaceMeta } from '@trellis/inject';
import { WatchCache } from '@trellis/k8s';
import type { Logger } from '@trellis/telemetry';
import { ApiCluster } from './api-cluster.ts';
import type { Cluster, InjectorEvent, OwnerRef } from './cluster.ts';

export class WatchedCluster implements Cluster {
  readonly #namespaces: WatchCache<V1Namespace>;
  readonly #api: ApiCluster;

  constructor(kc: KubeConfig, log: Logger) {
    this.#namespaces = new WatchCache<V1Namespace>(kc, { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' }, { logger: log });
    this.#api = new ApiCluster(kc, log);
  }

  /** Starts the namespace watch; resolves at the first sync or after `timeoutMs` (lookups fall back to the API). */
  async start(timeoutMs: number): Promise<boolean> {
    const started = this.#namespaces.start();
    const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([started.then(() => true), timeout]);
  }

  async namespace(name: string): Promise<NamespaceMeta | undefined> {
    // While the watch is (re)syncing, a missing entry may only be missing from the cache: ask the API.
    if (!this.#namespaces.synced) return this.#api.namespace(name);
    const ns = this.#namespaces.get(name);
    if (ns) return { name, annotations: ns.metadata?.annotations ?? {} };
    return this.#api.namespace(name);
  }

  topOwner(namespace: string, ref: OwnerRef): Promise<OwnerRef> {
    return this.#api.topOwner(namespace, ref);
  }

  recordEvent(event: InjectorEvent): void {
    this.#api.recordEvent(event);
  }

  async stop(): Promise<void> {
    await this.#namespaces.stop();
  }
}
