// The API client configuration (--kubeconfig, else in-cluster, else $KUBECONFIG), with load failures
// reported as configuration errors so identity exits 1 with one clear line.
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';
import { KubeConfigError, loadKubeConfig } from '@trellis/k8s';

export function loadIdentityKubeConfig(path: string | undefined): KubeConfig {
  try {
    return loadKubeConfig({ kubeconfig: path });
  } catch (err) {
    if (err instanceof KubeConfigError) throw new ConfigError(`--kubeconfig: ${err.message}`);
    throw err;
  }
}
