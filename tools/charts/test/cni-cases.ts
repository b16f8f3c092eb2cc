// The trellis-cni renders the golden tests compare, shared with the cluster test that applies them.
import type { RenderOptions } from '../src/helm.ts';

export const CNI_NAMESPACE = 'trellis-cni';

export interface CniCase {
  readonly name: string;
  readonly opts: RenderOptions;
}

export const CNI_CASES: readonly CniCase[] = [
  { name: 'cni-default', opts: { namespace: CNI_NAMESPACE } },
  {
    name: 'cni-custom',
    opts: {
      namespace: CNI_NAMESPACE,
      set: {
        destCNINetDir: '/etc/kubernetes/cni/net.d',
        destCNIBinDir: '/etc/kubernetes/cni/net.d',
        ignoreInboundPorts: '25\\,3306',
        ignoreOutboundPorts: '',
        portsToRedirect: '80\\,8080',
        proxyGID: '2103',
        iptablesMode: 'legacy',
        disableIPv6: 'false',
        logLevel: 'debug',
        'image.version': 'dev',
        priorityClassName: 'system-node-critical',
        'resources.memory.limit': '64Mi',
        'commonLabels.team': 'mesh',
      },
    },
  },
];
