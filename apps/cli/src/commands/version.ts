// `trellis version`: the CLI's version and, unless --client, the installed control plane's (from trellis-config),
// so a mismatch after an upgrade is one command away; with --proxy, the versions the meshed pods' proxies run.
import { CoreV1Api } from '@kubernetes/client-node';
import { parseCommandLine, VERSION, type CommandSpec } from '@trellis/config';
import { PROXY_VERSION } from '@trellis/inject';
import { fetchClusterValues } from '../cluster/values.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';

export const VERSION_SPEC: CommandSpec = {
  name: 'trellis version',
  summary: 'Print the client and the control plane versions.',
  flags: {
    client: { type: 'boolean', description: 'print the client version only' },
    'short': { type: 'boolean', description: 'print the version numbers only' },
    proxy: { type: 'boolean', description: "also print the data plane's proxy versions (-n for one namespace; default: all)" },
  },
  globalFlags: GLOBAL_FLAGS,
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
      namespace: controlPlaneNamespace(v),
      ...clusterSelection(v),
      hint: '',
    })) as { linkerdVersion?: unknown } | null;
    server = typeof values?.linkerdVersion === 'string' ? values.linkerdVersion : 'unavailable (trellis-config has no linkerdVersion)';
  } catch (err) {
    // Linkerd prints "unavailable" too: the client version is still worth having when the cluster is not.
    io.stderr.write(`trellis version: ${(err as Error).message}\n`);
    server = 'unavailable';
  }
  io.stdout.write(short ? `${server}\n` : `Server version: ${server}\n`);
  if (v['proxy'] === true) io.stdout.write(await proxyVersions(v));
  return 0;
}

/** Meshed pods of this control plane, counted per proxy version (the injector's linkerd.io/proxy-version). */
async function proxyVersions(v: Readonly<Record<string, unknown>>): Promise<string> {
  const core = loadCluster(clusterSelection(v)).makeApiClient(CoreV1Api);
  const labelSelector = `linkerd.io/control-plane-ns=${controlPlaneNamespace(v)}`;
  const ns = typeof v['namespace'] === 'string' ? v['namespace'] : undefined;
  const pods = ns ? await core.listNamespacedPod({ namespace: ns, labelSelector }) : await core.listPodForAllNamespaces({ labelSelector });
  const counts = new Map<string, number>();
  for (const p of pods.items) {
    if (p.metadata?.labels?.['linkerd.io/control-plane-component']) continue;
    const version = p.metadata?.annotations?.[PROXY_VERSION] ?? 'unknown';
    counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([version, n]) => `\t${version} (${n} ${n === 1 ? 'pod' : 'pods'})\n`);
  return `Proxy versions:\n${rows.length ? rows.join('') : '\tunavailable (no meshed pods)\n'}`;
}
