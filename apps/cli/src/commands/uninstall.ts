// `trellis uninstall` lists everything a Trellis install made (CRDs and the namespace included) and `trellis prune`
// what an upgrade left behind (in the cluster with Trellis' label, no longer in the rendered manifests), both as
// references for `kubectl delete -f -`.
import { parseCommandLine, type CommandSpec } from '@trellis/config';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';
import { installedValues } from '../install/installed.ts';
import { deletionManifest, installedObjects, refKey, renderedRefs } from '../install/inventory.ts';
import { renderControlPlane } from '../install/render.ts';
import { sayer } from './install.ts';
import type { CommandIo } from './io.ts';

export const UNINSTALL_SPEC: CommandSpec = {
  name: 'trellis uninstall',
  summary: 'Output the references of every object Trellis created, for kubectl delete -f - (meshed workloads keep their proxies until restarted).',
  flags: {},
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Example:\n  trellis uninstall | kubectl delete -f -',
};

export const PRUNE_SPEC: CommandSpec = {
  name: 'trellis prune',
  summary: "Output the objects of the control plane that this CLI's manifests no longer have (left over by an upgrade), for kubectl delete -f -.",
  flags: {},
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Example:\n  trellis upgrade | kubectl apply -f - && trellis prune | kubectl delete -f -',
};

export async function runUninstall(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(UNINSTALL_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const namespace = controlPlaneNamespace(cl.values);
  const refs = await installedObjects(loadCluster(clusterSelection(cl.values)), namespace, { crdsAndNamespace: true });
  if (refs.length === 0) io.stderr.write(`trellis uninstall: nothing of Trellis found for namespace ${namespace}\n`);
  io.stdout.write(deletionManifest(refs));
  return 0;
}

export async function runPrune(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(PRUNE_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const namespace = controlPlaneNamespace(v);
  const sel = clusterSelection(v);
  const kc = loadCluster(sel);
  const base = await installedValues(kc, { ...sel, namespace });
  const wanted = new Set(renderedRefs(await renderControlPlane(namespace, base, { values: [], set: [], setString: [], setFile: [], ha: false }, sayer(io, v)), namespace).map(refKey));
  const stale = (await installedObjects(kc, namespace, { crdsAndNamespace: false })).filter((r) => !wanted.has(refKey(r)));
  io.stdout.write(deletionManifest(stale));
  return 0;
}
