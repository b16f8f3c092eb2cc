// The flags every trellis command takes, before or after its name, as Linkerd's root command has them: which
// cluster (--kubeconfig, --context), as whom (--as, --as-group), which namespaces (-n, -L) and --verbose.
import type { KubeConfig } from '@kubernetes/client-node';
import type { FlagSpec } from '@trellis/config';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '@trellis/inject';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfigError, loadKubeConfig } from '@trellis/k8s';

export const GLOBAL_FLAGS = {
  namespace: { type: 'string', short: 'n', description: "namespace to use (default: the kube context's namespace, else default)" },
  'trellis-namespace': {
    type: 'string',
    short: 'L',
    description: `namespace of the Trellis control plane (default: $TRELLIS_NAMESPACE, else ${DEFAULT_CONTROL_PLANE_NAMESPACE})`,
  },
  kubeconfig: { type: 'string', description: 'path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)' },
  context: { type: 'string', description: 'kubeconfig context to use' },
  as: { type: 'string', description: 'username to impersonate for Kubernetes operations' },
  'as-group': { type: 'string', description: 'group to impersonate for Kubernetes operations (with --as)' },
  verbose: { type: 'boolean', description: "print the helm command lines and an error's cause on stderr" },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export interface ClusterSelection {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly as?: string;
  readonly asGroup?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function clusterSelection(values: Readonly<Record<string, unknown>>): ClusterSelection {
  const picked = { kubeconfig: str(values['kubeconfig']), context: str(values['context']), as: str(values['as']), asGroup: str(values['as-group']) };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as ClusterSelection;
}

/** -L, else $TRELLIS_NAMESPACE, else trellis. */
export function controlPlaneNamespace(values: Readonly<Record<string, unknown>>): string {
  return str(values['trellis-namespace']) ?? str(process.env['TRELLIS_NAMESPACE']) ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
}

/** kubectl's sources: --kubeconfig, $KUBECONFIG, ~/.kube/config, or a pod's service account. */
function haveKubeconfig(sel: ClusterSelection): boolean {
  if (sel.kubeconfig) return true;
  const env = process.env['KUBECONFIG'];
  if (env) return env.split(':').some((f) => f && existsSync(f));
  return existsSync(join(homedir(), '.kube', 'config')) || (process.env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'));
}

export function loadCluster(sel: ClusterSelection): KubeConfig {
  // The client library would otherwise fall back to http://localhost:8080 and fail with a message about TLS.
  if (!haveKubeconfig(sel)) throw new KubeConfigError(`no kubeconfig: ${process.env['KUBECONFIG'] ? `none of $KUBECONFIG (${process.env['KUBECONFIG']}) exists` : '~/.kube/config does not exist and $KUBECONFIG is not set'}; pass --kubeconfig`);
  return loadKubeConfig({ kubeconfig: sel.kubeconfig, context: sel.context, impersonate: sel.as ? { user: sel.as, group: sel.asGroup } : sel.asGroup ? { group: sel.asGroup } : undefined });
}

/** -n, else the namespace of the kube context in use (as kubectl and Linkerd do), else default. */
export function targetNamespace(values: Readonly<Record<string, unknown>>, kc?: KubeConfig): string {
  const explicit = str(values['namespace']);
  if (explicit) return explicit;
  if (!kc) return 'default';
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}
