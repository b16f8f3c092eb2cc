// `trellis install [--crds]` and `trellis upgrade [--crds]`: the manifests to pipe into `kubectl apply -f -`,
// rendered from the Helm charts by helm itself. Install generates the identity material unless given; upgrade
// reads the installed values, issuer and webhook certificates back from the cluster and keeps them.
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, type CommandSpec, type FlagSpec } from '@trellis/config';
import { fetchClusterValues } from '../cluster/values.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';
import { identityMaterial } from '../install/identity.ts';
import { installedValues } from '../install/installed.ts';
import { renderControlPlane, renderCrds, type Say, type ValueFlags } from '../install/render.ts';
import type { CommandIo } from './io.ts';

const VALUE_FLAGS = {
  values: { type: 'list', short: 'f', split: false, value: 'FILE', description: 'a Helm values file (repeatable; later files win)' },
  set: { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value, as helm --set (repeatable)' },
  'set-string': { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value as a string, as helm --set-string' },
  'set-file': { type: 'list', split: false, value: 'KEY=PATH', description: "set a chart value to a file's content, as helm --set-file" },
  ha: { type: 'boolean', description: 'lay values-ha.yaml over the values (replicas, anti-affinity, disruption budgets, resources)' },
  crds: { type: 'boolean', description: 'the CustomResourceDefinitions only (apply them first)' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const INSTALL_SPEC: CommandSpec = {
  name: 'trellis install',
  summary: 'Output the Kubernetes manifests to install Trellis (the CRDs with --crds, then the control plane).',
  flags: {
    ...VALUE_FLAGS,
    'identity-trust-anchors-file': { type: 'string', value: 'FILE', description: 'PEM trust anchors (default: generate a trust anchor)' },
    'identity-issuer-certificate-file': { type: 'string', value: 'FILE', description: "PEM issuer certificate, signed by a trust anchor (default: generate one)" },
    'identity-issuer-key-file': { type: 'string', value: 'FILE', description: "PEM issuer private key (default: generate one)" },
    'ignore-cluster': { type: 'boolean', description: 'do not check the cluster first (CRDs installed, no control plane there yet)' },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: [
    'The manifests are the charts in helm/ rendered by helm template with the same values; helm is found',
    '($TRELLIS_HELM, the tool cache, PATH) or built once with Go, and the CLI says so.',
    '',
    'Example:',
    '  trellis install --crds | kubectl apply -f -',
    '  trellis install | kubectl apply -f -',
    '  trellis check',
  ].join('\n'),
};

export const UPGRADE_SPEC: CommandSpec = {
  name: 'trellis upgrade',
  summary: "Output the manifests to upgrade Trellis to this CLI's version, keeping the installed values and certificates.",
  flags: VALUE_FLAGS,
  globalFlags: GLOBAL_FLAGS,
  epilog: ['Example:', '  trellis upgrade --crds | kubectl apply -f -', '  trellis upgrade | kubectl apply -f -', '  trellis prune | kubectl delete -f -'].join('\n'),
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function valueFlags(v: Readonly<Record<string, unknown>>): ValueFlags {
  return { values: strings(v['values']), set: strings(v['set']), setString: strings(v['set-string']), setFile: strings(v['set-file']), ha: v['ha'] === true };
}

export function sayer(io: CommandIo, v: Readonly<Record<string, unknown>>): Say {
  return { say: (l) => io.stderr.write(`${l}\n`), verbose: (l) => (v['verbose'] === true ? io.stderr.write(`${l}\n`) : undefined) };
}

async function crdsInstalled(kc: KubeConfig): Promise<boolean> {
  try {
    await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'serviceprofiles.linkerd.io' });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

/** Linkerd's guard rails: CRDs first, and install only where no control plane is (upgrade is for that). */
async function checkCluster(v: Readonly<Record<string, unknown>>, namespace: string): Promise<void> {
  const sel = clusterSelection(v);
  const kc = loadCluster(sel);
  if (!(await crdsInstalled(kc))) throw new ConfigError('the Trellis CRDs are not installed: run trellis install --crds | kubectl apply -f - first (or pass --ignore-cluster)');
  const installed = await fetchClusterValues({ ...sel, namespace, hint: '' }).then(
    () => true,
    () => false,
  );
  if (installed) throw new ConfigError(`Trellis is already installed in namespace ${namespace}: use trellis upgrade (or pass --ignore-cluster)`);
}

export async function runInstall(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(INSTALL_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const namespace = controlPlaneNamespace(v);
  const flags = valueFlags(v);
  const say = sayer(io, v);
  if (v['crds'] === true) {
    io.stdout.write(await renderCrds(namespace, flags, say));
    return 0;
  }
  if (v['ignore-cluster'] !== true) await checkCluster(v, namespace);
  const identity = await identityMaterial({
    trustAnchors: v['identity-trust-anchors-file'] as string | undefined,
    issuerCertificate: v['identity-issuer-certificate-file'] as string | undefined,
    issuerKey: v['identity-issuer-key-file'] as string | undefined,
  });
  const base = { identityTrustAnchorsPEM: identity.trustAnchorsPem, identity: { issuer: { tls: { crtPEM: identity.issuerCertPem, keyPEM: identity.issuerKeyPem } } } };
  io.stdout.write(await renderControlPlane(namespace, base, flags, say));
  if (identity.generated) say.verbose('trellis: generated a trust anchor and an issuer; trellis upgrade reads them back from the cluster');
  return 0;
}

export async function runUpgrade(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(UPGRADE_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const namespace = controlPlaneNamespace(v);
  const flags = valueFlags(v);
  const say = sayer(io, v);
  if (v['crds'] === true) {
    io.stdout.write(await renderCrds(namespace, flags, say));
    return 0;
  }
  const sel = clusterSelection(v);
  const base = await installedValues(loadCluster(sel), { ...sel, namespace });
  io.stdout.write(await renderControlPlane(namespace, base, flags, say));
  return 0;
}
