// The API client configuration: --kubeconfig if given, else in-cluster credentials, else the defaults
// ($KUBECONFIG, ~/.kube/config).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) {
      if (!existsSync(path)) throw new ConfigError(`invalid value ${JSON.stringify(path)} for --kubeconfig: file does not exist`);
      kc.loadFromFile(path);
    } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) {
      kc.loadFromCluster();
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot load kubeconfig${path ? ` ${path}` : ''}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new ConfigError(`kubeconfig${path ? ` ${path}` : ''} has no current cluster`);
  return kc;
}
