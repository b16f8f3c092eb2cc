// `trellis viz install` and `trellis viz uninstall`: the viz extension's chart (helm/trellis-viz) rendered by helm
// itself, as install renders the control plane's, for `kubectl apply -f -`; and the references of every object it
// made, for `kubectl delete -f -`.
import { parseCommandLine, type CommandSpec, type FlagSpec } from '@trellis/config';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '@trellis/inject';
import { fetchClusterValues } from '../cluster/values.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';
import { deletionManifest, vizObjects } from '../install/inventory.ts';
import { renderViz, VIZ_NAMESPACE } from '../install/render.ts';
import { sayer } from './install.ts';
import type { CommandIo } from './io.ts';

const VALUE_FLAGS = {
  values: { type: 'list', short: 'f', split: false, value: 'FILE', description: 'a Helm values file (repeatable; later files win)' },
  set: { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value, as helm --set (repeatable)' },
  'set-string': { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value as a string, as helm --set-string' },
  'set-file': { type: 'list', split: false, value: 'KEY=PATH', description: "set a chart value to a file's content, as helm --set-file" },
  ha: { type: 'boolean', description: "lay the viz chart's values-ha.yaml over the values (replicas, anti-affinity, disruption budgets)" },
  'ignore-cluster': { type: 'boolean', description: 'do not check that the control plane is installed first' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const VIZ_INSTALL_SPEC: CommandSpec = {
  name: 'trellis viz install',
  summary: `Output the Kubernetes manifests of the viz extension (Prometheus, the metrics API, the dashboard) in namespace ${VIZ_NAMESPACE}.`,
  flags: VALUE_FLAGS,
  globalFlags: GLOBAL_FLAGS,
  epilog: [
    'The manifests are helm/trellis-viz rendered by helm template with the same values (as trellis install).',
    '',
    'Example:',
    '  trellis viz install | kubectl apply -f -',
    '  trellis viz check',
  ].join('\n'),
};

export const VIZ_UNINSTALL_SPEC: CommandSpec = {
  name: 'trellis viz uninstall',
  summary: 'Output the references of every object of the viz extension, for kubectl delete -f -.',
  flags: {},
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Example:\n  trellis viz uninstall | kubectl delete -f -',
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export async function runVizInstall(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(VIZ_INSTALL_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const cp = controlPlaneNamespace(v);
  // As linkerd viz install: the control plane first (its ConfigMap is what the extension's pods are meshed by).
  if (v['ignore-cluster'] !== true) await fetchClusterValues({ ...clusterSelection(v), namespace: cp, hint: '; install Trellis first (trellis install), or pass --ignore-cluster' });
  const base = cp === DEFAULT_CONTROL_PLANE_NAMESPACE ? {} : { linkerdNamespace: cp };
  const flags = { values: strings(v['values']), set: strings(v['set']), setString: strings(v['set-string']), setFile: strings(v['set-file']), ha: v['ha'] === true };
  io.stdout.write(await renderViz(base, flags, sayer(io, v)));
  return 0;
}

export async function runVizUninstall(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(VIZ_UNINSTALL_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const refs = await vizObjects(loadCluster(clusterSelection(cl.values)), VIZ_NAMESPACE);
  if (refs.length === 0) io.stderr.write(`trellis viz uninstall: nothing of the viz extension found (namespace ${VIZ_NAMESPACE})\n`);
  io.stdout.write(deletionManifest(refs));
  return 0;
}
