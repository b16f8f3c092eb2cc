// Renders the charts the way `trellis install` and `upgrade` print them: the control-plane Namespace (so that the
// output applies to an empty cluster), then `helm template` of the chart with the values files and flags in
// helm's own order of precedence.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { assets } from './assets.ts';
import { helmTemplate } from './helm.ts';

export const CRDS_RELEASE = 'trellis-crds';
export const CONTROL_PLANE_RELEASE = 'trellis-control-plane';
/** The viz extension: its chart, release and namespace (Linkerd's is linkerd-viz). */
export const VIZ_RELEASE = 'trellis-viz';
export const VIZ_NAMESPACE = 'trellis-viz';

export interface ValueFlags {
  readonly values: readonly string[];
  readonly set: readonly string[];
  readonly setString: readonly string[];
  readonly setFile: readonly string[];
  readonly ha: boolean;
}

export interface Say {
  readonly verbose: (line: string) => void;
  readonly say: (line: string) => void;
}

/** The helm flags for the user's values, after `base` (values the CLI supplies, e.g. certificates). */
export function helmValueArgs(flags: ValueFlags, baseFile?: string, chart = CONTROL_PLANE_RELEASE): string[] {
  return [
    ...(baseFile ? ['--values', baseFile] : []),
    ...(flags.ha ? ['--values', join(assets().chartsDir, chart, 'values-ha.yaml')] : []),
    ...flags.values.flatMap((f) => ['--values', f]),
    ...flags.set.flatMap((v) => ['--set', v]),
    ...flags.setString.flatMap((v) => ['--set-string', v]),
    ...flags.setFile.flatMap((v) => ['--set-file', v]),
  ];
}

export function namespaceManifest(namespace: string): string {
  return `---\n${stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      annotations: { 'linkerd.io/inject': 'disabled' },
      labels: { 'linkerd.io/is-control-plane': 'true', 'config.linkerd.io/admission-webhooks': 'disabled', 'linkerd.io/control-plane-ns': namespace },
    },
  })}`;
}

export async function renderCrds(namespace: string, flags: Pick<ValueFlags, 'values' | 'set' | 'setString' | 'setFile'>, say: Say): Promise<string> {
  return helmTemplate(CRDS_RELEASE, CRDS_RELEASE, namespace, helmValueArgs({ ...flags, ha: false }), say);
}

/** The control plane with `base` values (written to a private temporary file, removed after) under the user's. */
export async function renderControlPlane(namespace: string, base: Record<string, unknown>, flags: ValueFlags, say: Say): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-values-'));
  try {
    // JSON, which helm reads as YAML: no plain scalar (off, no, 0755) can change type on the way.
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(base), { mode: 0o600 });
    return namespaceManifest(namespace) + (await helmTemplate(CONTROL_PLANE_RELEASE, CONTROL_PLANE_RELEASE, namespace, helmValueArgs(flags, file), say));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The viz chart (it renders its own Namespace); `base` values under the user's, when there are any. */
export async function renderViz(base: Record<string, unknown>, flags: ValueFlags, say: Say): Promise<string> {
  if (Object.keys(base).length === 0) return helmTemplate(VIZ_RELEASE, VIZ_RELEASE, VIZ_NAMESPACE, helmValueArgs(flags, undefined, VIZ_RELEASE), say);
  const dir = await mkdtemp(join(tmpdir(), 'trellis-values-'));
  try {
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(base), { mode: 0o600 });
    return await helmTemplate(VIZ_RELEASE, VIZ_RELEASE, VIZ_NAMESPACE, helmValueArgs(flags, file, VIZ_RELEASE), say);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
