// `trellis version`: the CLI's version and, unless --client, the installed control plane's (from trellis-config),
// so a mismatch after an upgrade is one command away.
import { parseCommandLine, VERSION, type CommandSpec } from '@trellis/config';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '@trellis/inject';
import { fetchClusterValues } from '../cluster/values.ts';
import type { CommandIo } from './io.ts';
import { CLUSTER_FLAGS, clusterSelection } from '../cluster/kubeconfig.ts';

export const VERSION_SPEC: CommandSpec = {
  name: 'trellis version',
  summary: 'Print the client and the control plane versions.',
  flags: {
    client: { type: 'boolean', description: 'print the client version only' },
    'short': { type: 'boolean', description: 'print the version numbers only' },
    'trellis-namespace': { type: 'string', short: 'L', description: 'namespace of the Trellis control plane', default: DEFAULT_CONTROL_PLANE_NAMESPACE },
    ...CLUSTER_FLAGS,
  },
};

export async function runVersion(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(VERSION_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const short = v['short'] === true;
  io.stdout.write(short ? `${VERSION}\n` : `Client version: ${VERSION}\n`);
  if (v['client'] === true) return 0;
  let server: string;
  try {
    const values = (await fetchClusterValues({
      namespace: String(v['trellis-namespace']),
      ...clusterSelection(v),
    })) as { linkerdVersion?: unknown } | null;
    server = typeof values?.linkerdVersion === 'string' ? values.linkerdVersion : 'unavailable (trellis-config has no linkerdVersion)';
  } catch (err) {
    // Linkerd prints "unavailable" too: the client version is still worth having when the cluster is not.
    io.stderr.write(`trellis version: ${(err as Error).message.replace(/; pass --ignore-cluster.*$/, '')}\n`);
    server = 'unavailable';
  }
  io.stdout.write(short ? `${server}\n` : `Server version: ${server}\n`);
  return 0;
}
