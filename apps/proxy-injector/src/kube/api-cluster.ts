// Cluster over the Kubernetes API with @kubernetes/client-node. Namespaces are cached for a few seconds and
// owner chains for longer (a ReplicaSet's owner does not change), so a burst of pods costs one lookup.
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig, type V1ObjectMeta } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import type { NamespaceMeta } from '@trellis/inject';
import type { Logger } from '@trellis/telemetry';
import type { Cluster, InjectorEvent, OwnerRef } from './cluster.ts';

export class ApiLookupError extends TrellisError {
  constructor(message: string, cause: unknown) {
    super('TRELLIS_ERR_API_LOOKUP', message, { cause });
  }
}

interface Cached<T> {
  readonly value: T;
  readonly expires: number;
}

const statusOf = (err: unknown) => (err as { code?: number }).code;

class TtlCache<T> {
  readonly #entries = new Map<string, Cached<T>>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(ttlMs: number, max: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  get(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expires < this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: T): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expires: this.#now() + this.#ttlMs });
  }
}

export interface ApiClusterOptions {
  readonly namespaceTtlMs?: number;
  readonly ownerTtlMs?: number;
  /** The same event (object, reason, message) is sent at most once per this window, as client-go's spam filter does. */
  readonly eventWindowMs?: number;
  readonly now?: () => number;
}

/** Runs one lookup per key at a time: concurrent misses for the same namespace share the request. */
class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const p = fn().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }
}

export class ApiCluster implements Cluster {
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #batch: BatchV1Api;
  readonly #log: Logger;
  readonly #namespaces: TtlCache<NamespaceMeta | undefined>;
  readonly #owners: TtlCache<OwnerRef>;
  readonly #recentEvents: TtlCache<true>;
  readonly #namespaceFlight = new SingleFlight<NamespaceMeta | undefined>();
  readonly #ownerFlight = new SingleFlight<OwnerRef>();
  readonly #now: () => number;

  constructor(kc: KubeConfig, log: Logger, opts: ApiClusterOptions = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
    this.#log = log;
    this.#now = opts.now ?? Date.now;
    this.#namespaces = new TtlCache(opts.namespaceTtlMs ?? 5_000, 10_000, this.#now);
    this.#owners = new TtlCache(opts.ownerTtlMs ?? 10 * 60_000, 10_000, this.#now);
    this.#recentEvents = new TtlCache(opts.eventWindowMs ?? 60_000, 10_000, this.#now);
  }

  async namespace(name: string): Promise<NamespaceMeta | undefined> {
    const hit = this.#namespaces.get(name);
    if (hit) return hit;
    return this.#namespaceFlight.run(name, () => this.#readNamespace(name));
  }

  async #readNamespace(name: string): Promise<NamespaceMeta | undefined> {
    try {
      const ns = await this.#core.readNamespace({ name });
      const meta = { name, annotations: ns.metadata?.annotations ?? {} };
      this.#namespaces.set(name, meta);
      return meta;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new ApiLookupError(`cannot read namespace ${name}: ${(err as Error).message.split('\n')[0]}`, err);
    }
  }

  async topOwner(namespace: string, ref: OwnerRef): Promise<OwnerRef> {
    if (ref.kind !== 'ReplicaSet' && ref.kind !== 'Job') return ref;
    const key = `${namespace}/${ref.kind}/${ref.name}`;
    const hit = this.#owners.get(key);
    if (hit) return hit;
    return this.#ownerFlight.run(key, () => this.#readOwner(namespace, ref, key));
  }

  async #readOwner(namespace: string, ref: OwnerRef, key: string): Promise<OwnerRef> {
    let meta: V1ObjectMeta | undefined;
    try {
      meta =
        ref.kind === 'ReplicaSet'
          ? (await this.#apps.readNamespacedReplicaSet({ name: ref.name, namespace })).metadata
          : (await this.#batch.readNamespacedJob({ name: ref.name, namespace })).metadata;
    } catch (err) {
      // The owner may be gone or not yet visible; its own name is still a useful label.
      this.#log.debug({ owner: key, err: (err as Error).message }, 'cannot read owner; labelling with it as is');
      return ref;
    }
    const parent = meta?.ownerReferences?.find((o) => o.controller) ?? meta?.ownerReferences?.[0];
    const top: OwnerRef = parent ? { apiVersion: parent.apiVersion, kind: parent.kind, name: parent.name, uid: parent.uid, namespace } : ref;
    this.#owners.set(key, top);
    return top;
  }

  recordEvent(event: InjectorEvent): void {
    const { involved } = event;
    // A Deployment scaled to 100 replicas gets one Injected event per window, not 100.
    const key = `${involved.namespace}/${involved.kind}/${involved.name}/${event.reason}/${event.message}`;
    if (this.#recentEvents.get(key)) return;
    this.#recentEvents.set(key, true);
    const now = new Date(this.#now());
    this.#core
      .createNamespacedEvent({
        namespace: involved.namespace,
        body: {
          metadata: { generateName: `${involved.name}.`, namespace: involved.namespace },
          involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.name, namespace: involved.namespace, ...(involved.uid ? { uid: involved.uid } : {}) },
          reason: event.reason,
          message: event.message,
          type: event.type,
          source: { component: 'trellis-proxy-injector' },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => this.#log.warn({ reason: event.reason, object: `${involved.kind}/${involved.name}`, err: (err as Error).message.split('\n')[0] }, 'cannot record event'));
  }
}
