// Which cluster a command talks to: the --kubeconfig and --context flags every cluster command takes, read the same
// way everywhere.
import type { KubeConfig } from '@kubernetes/client-node';
import type { FlagSpec } from '@trellis/config';
import { loadKubeConfig } from '@trellis/k8s';

export const CLUSTER_FLAGS = {
  kubeconfig: { type: 'string', description: 'path to the kubeconfig file' },
  context: { type: 'string', description: 'kubeconfig context to use' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export interface ClusterSelection {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export function clusterSelection(values: Readonly<Record<string, unknown>>): ClusterSelection {
  const { kubeconfig, context } = values;
  return { ...(typeof kubeconfig === 'string' ? { kubeconfig } : {}), ...(typeof context === 'string' ? { context } : {}) };
}

export function loadCluster(sel: ClusterSelection): KubeConfig {
  const kc = loadKubeConfig({ kubeconfig: sel.kubeconfig });
  if (sel.context) kc.setCurrentContext(sel.context);
  return kc;
}
