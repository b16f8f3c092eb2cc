// The plugin's kubeconfig, written by the installer from the DaemonSet pod's service account (its token and the
// cluster CA) and the in-cluster address of the API server, as Linkerd's install-cni.sh writes it. Pure.
import { isIP } from 'node:net';

export interface KubeconfigInput {
  readonly host: string;
  readonly port: string;
  readonly protocol?: string;
  readonly token: string;
  /** The CA bundle (PEM); undefined with skipTlsVerify. */
  readonly caPem: string | undefined;
  readonly skipTlsVerify: boolean;
}

export const CONTEXT = 'trellis-cni-context';

export function kubeconfigText(i: KubeconfigInput): string {
  // An IPv6 address needs brackets in a URL; an IPv4 address or a name must not have them.
  const host = isIP(i.host) === 6 ? `[${i.host}]` : i.host;
  const tls = i.skipTlsVerify ? 'insecure-skip-tls-verify: true' : i.caPem ? `certificate-authority-data: ${Buffer.from(i.caPem).toString('base64')}` : '';
  return [
    '# Kubeconfig of the trellis-cni plugin, written by its installer.',
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${i.protocol ?? 'https'}://${host}:${i.port}`,
    ...(tls ? [`    ${tls}`] : []),
    'users:',
    '- name: trellis-cni',
    '  user:',
    `    token: ${i.token}`,
    'contexts:',
    `- name: ${CONTEXT}`,
    '  context:',
    '    cluster: local',
    '    user: trellis-cni',
    `current-context: ${CONTEXT}`,
    '',
  ].join('\n');
}
