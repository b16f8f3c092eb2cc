// What the webhook asks the Kubernetes API: a namespace's annotations, the top-level owner of a pod, and
// where to record events. Behind an interface so the webhook can be tested and benchmarked without an API server
// (and so the client can move to @trellis/k8s watch caches without touching the webhook).
import type { NamespaceMeta } from '@trellis/inject';

export interface OwnerRef {
  readonly apiVersion: string;
  /** As Kubernetes spells it: "Deployment". */
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly namespace: string;
}

export interface InjectorEvent {
  readonly involved: OwnerRef;
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'Injected' | 'InjectionSkipped';
  readonly message: string;
}

export interface Cluster {
  /** The namespace's metadata; undefined when it does not exist. Rejects when the API cannot be asked. */
  namespace(name: string): Promise<NamespaceMeta | undefined>;
  /** Follows a pod's controller reference up to the workload people name (ReplicaSet → Deployment, Job → CronJob). */
  topOwner(namespace: string, ref: OwnerRef): Promise<OwnerRef>;
  /** Best effort: failures are the implementation's to log. */
  recordEvent(event: InjectorEvent): void;
}

/** A fixed answer for every question: used by tests and the benchmark. */
export class StaticCluster implements Cluster {
  readonly events: InjectorEvent[] = [];
  readonly #namespaces: ReadonlyMap<string, NamespaceMeta>;

  constructor(namespaces: Readonly<Record<string, Readonly<Record<string, string>>>>) {
    this.#namespaces = new Map(Object.entries(namespaces).map(([name, annotations]) => [name, { name, annotations }]));
  }

  async namespace(name: string): Promise<NamespaceMeta | undefined> {
    return this.#namespaces.get(name);
  }

  async topOwner(_namespace: string, ref: OwnerRef): Promise<OwnerRef> {
    // Without an API the ReplicaSet's Deployment is inferred from the pod-template-hash naming convention.
    if (ref.kind === 'ReplicaSet') {
      const m = /^(.+)-[a-z0-9]{5,10}$/.exec(ref.name);
      if (m) return { apiVersion: 'apps/v1', kind: 'Deployment', name: m[1] as string, namespace: ref.namespace };
    }
    return ref;
  }

  recordEvent(event: InjectorEvent): void {
    this.events.push(event);
  }
}
