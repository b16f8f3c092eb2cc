// The pod network as CNI configuration for containerd: the standard bridge plugin on the node's existing bridge
// (made by the host network setup, with the gateway address already on it), host-local addresses from the node's
// /24, and portmap for hostPorts. isGateway stays off: the plugin would otherwise switch on IPv4 forwarding for the
// whole machine, where only the bridge forwards.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CNI_NETWORK = 'trellis';

export interface CniOptions {
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  /** host-local's address records, under the cluster directory so that they go with it. */
  readonly ipamDir: string;
}

export function cniConfList(o: CniOptions): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: false,
        ipMasq: false,
        // A pod reaches itself through its own Service.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.subnet, gateway: o.gateway }]],
          routes: [{ dst: '0.0.0.0/0', gw: o.gateway }],
          dataDir: o.ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export async function writeCniConfig(confDir: string, o: CniOptions): Promise<void> {
  await mkdir(confDir, { recursive: true });
  await mkdir(o.ipamDir, { recursive: true });
  await writeFile(join(confDir, `10-${CNI_NETWORK}.conflist`), `${JSON.stringify(cniConfList(o), null, 2)}\n`);
}
