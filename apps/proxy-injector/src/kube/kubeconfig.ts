// Client configuration: an explicit kubeconfig, else the in-cluster service account, else $KUBECONFIG / ~/.kube.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfigFor(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) {
      if (!existsSync(kubeconfig)) throw new ConfigError(`invalid value ${JSON.stringify(kubeconfig)} for --kubeconfig: no such file`);
      kc.loadFromFile(kubeconfig);
    } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot load kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new ConfigError('no Kubernetes cluster configured: pass --kubeconfig or run in a pod');
  return kc;
}
