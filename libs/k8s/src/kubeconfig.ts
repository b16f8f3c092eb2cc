// Loading a Kubernetes client configuration: an explicit kubeconfig file, else in-cluster service account,
// else the usual defaults ($KUBECONFIG, ~/.kube/config).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';

export class KubeConfigError extends TrellisError {
  constructor(message: string, cause?: unknown) {
    super('TRELLIS_ERR_KUBECONFIG', message, { cause });
  }
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(opts: { kubeconfig?: string | undefined } = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) {
      if (!existsSync(opts.kubeconfig)) throw new KubeConfigError(`kubeconfig ${opts.kubeconfig} does not exist`);
      kc.loadFromFile(opts.kubeconfig);
    } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) {
      kc.loadFromCluster();
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(err as Error).message}`, err);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('kubeconfig has no current cluster');
  return kc;
}
