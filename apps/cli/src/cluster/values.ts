// Reads the installed control plane's values (ConfigMap trellis-config, key `values`) so that --manual renders
// the same sidecar the webhook would.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import { loadCluster, type ClusterSelection } from './kubeconfig.ts';
import { parse } from 'yaml';

export const CONFIG_MAP = 'trellis-config';

export class ClusterConfigError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_CLUSTER_CONFIG', message);
  }
}

export interface ClusterOptions extends ClusterSelection {
  readonly namespace: string;
  /** What to suggest when the values cannot be read (default: inject's --ignore-cluster). */
  readonly hint?: string;
}

export async function fetchClusterValues(opts: ClusterOptions): Promise<unknown> {
  const hint = opts.hint ?? '; pass --ignore-cluster to use default values';
  let kc: KubeConfig;
  try {
    kc = loadCluster(opts);
  } catch (err) {
    throw new ClusterConfigError(`${(err as Error).message}${hint}`);
  }
  let data: Record<string, string> | undefined;
  try {
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: CONFIG_MAP, namespace: opts.namespace });
    data = cm.data;
  } catch (err) {
    const code = (err as { code?: number }).code;
    const why = code === 404 ? 'not found (is Trellis installed?)' : (err as Error).message.split('\n')[0];
    throw new ClusterConfigError(`cannot read ConfigMap ${opts.namespace}/${CONFIG_MAP}: ${why}${hint}`);
  }
  const text = data?.['values'];
  if (text === undefined) throw new ClusterConfigError(`ConfigMap ${opts.namespace}/${CONFIG_MAP} has no "values" key`);
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new ClusterConfigError(`ConfigMap ${opts.namespace}/${CONFIG_MAP} key "values" is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
