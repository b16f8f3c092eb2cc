// The installer's settings, from the environment the DaemonSet gives it (Linkerd's install-cni.sh names).
// A bad value stops it at start, naming the variable.
import { ConfigError } from '@trellis/config';
import { join } from 'node:path';
import { pluginEntry } from './conflist.ts';

export interface InstallerConfig {
  readonly hostConfDir: string;
  readonly destConfDir: string;
  readonly hostBinDir: string;
  readonly kubeconfigName: string;
  readonly kubeconfigMode: number;
  readonly networkConfig: string;
  readonly serviceAccountDir: string;
  readonly apiHost: string;
  readonly apiPort: string;
  readonly skipTlsVerify: boolean;
}

export function parseInstallerEnv(env: Readonly<Record<string, string | undefined>>): InstallerConfig {
  const get = (name: string, fallback = '') => env[name] ?? fallback;
  const prefix = get('CONTAINER_MOUNT_PREFIX', '/host');
  const destConfDir = get('DEST_CNI_NET_DIR', '/etc/cni/net.d');
  const networkConfig = get('CNI_NETWORK_CONFIG');
  if (networkConfig === '') throw new ConfigError('CNI_NETWORK_CONFIG is not set: it holds the conflist entry to chain');
  try {
    pluginEntry(networkConfig, '/x');
  } catch (err) {
    throw new ConfigError(`invalid value for CNI_NETWORK_CONFIG: ${(err as Error).message}`);
  }
  const modeText = get('KUBECONFIG_MODE', '600');
  if (!/^[0-7]{3,4}$/.test(modeText)) throw new ConfigError(`invalid value ${JSON.stringify(modeText)} for KUBECONFIG_MODE: expected octal permissions such as 600`);
  const apiHost = get('KUBERNETES_SERVICE_HOST');
  const apiPort = get('KUBERNETES_SERVICE_PORT');
  if (apiHost === '' || apiPort === '') throw new ConfigError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (the kubelet sets them in every pod)');
  const skip = get('SKIP_TLS_VERIFY', 'false');
  if (skip !== 'true' && skip !== 'false') throw new ConfigError(`invalid value ${JSON.stringify(skip)} for SKIP_TLS_VERIFY: expected true or false`);
  return {
    hostConfDir: join(prefix, destConfDir),
    destConfDir,
    hostBinDir: join(prefix, get('DEST_CNI_BIN_DIR', '/opt/cni/bin')),
    kubeconfigName: get('KUBECONFIG_FILE_NAME', 'ZZZ-trellis-cni-kubeconfig'),
    kubeconfigMode: parseInt(modeText, 8),
    networkConfig,
    serviceAccountDir: get('SERVICEACCOUNT_PATH', '/var/run/secrets/kubernetes.io/serviceaccount'),
    apiHost,
    apiPort,
    skipTlsVerify: skip === 'true',
  };
}
