// Everything the checks share: the options, the clock, and what earlier checks found (the client, the values),
// so that later checks neither repeat reads nor run without what they need.
import type { ClusterSelection } from '../cluster/kubeconfig.ts';
import type { Cluster } from './cluster.ts';

export interface CheckOptions extends ClusterSelection {
  readonly controlPlaneNamespace: string;
  /** --proxy: the namespace whose proxies to check; undefined means every namespace. */
  readonly dataPlaneNamespace?: string;
  readonly cliVersion: string;
  /** --cni-enabled: the CNI plugin does linkerd-init's work (checked even before an install says so). */
  readonly cniEnabled?: boolean;
  /** --cni-namespace: where the CNI plugin's DaemonSet runs. */
  readonly cniNamespace?: string;
}

export class CheckContext {
  readonly options: CheckOptions;
  readonly now: () => Date;
  #cluster: Cluster | undefined;
  /** The install's values from the trellis-config ConfigMap, once read. */
  values: Record<string, unknown> | undefined;

  constructor(options: CheckOptions, now: () => Date = () => new Date()) {
    this.options = options;
    this.now = now;
  }

  set cluster(c: Cluster) {
    this.#cluster = c;
  }

  /** The client; the fatal first check guarantees it exists for every later one. */
  get cluster(): Cluster {
    if (!this.#cluster) throw new Error('no Kubernetes client (the kubernetes-api checks failed)');
    return this.#cluster;
  }

  get ns(): string {
    return this.options.controlPlaneNamespace;
  }
}

/** A value at a dotted path of the install's values, e.g. `identity.issuer.scheme`. */
export function valueAt(values: Record<string, unknown> | undefined, path: string): unknown {
  let v: unknown = values;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}
