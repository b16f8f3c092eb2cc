// `trellis authz RESOURCE`: the authorizations that apply to a workload's Servers and their routes, read from the
// policy resources in its namespace (Linkerd's `linkerd authz`).
import { CustomObjectsApi } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { authorizationRows, renderAuthzTable, type PolicyObject } from '../authz/authorizations.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { parseResource, resourcePods } from '../viz/pods.ts';
import type { CommandIo } from './io.ts';

export const AUTHZ_SPEC: CommandSpec = {
  name: 'trellis authz',
  summary: "List the authorizations that apply to a resource's Servers and routes: TYPE/NAME (deploy, sts, ds, po).",
  allowPositionals: true,
  args: 'TYPE/NAME',
  flags: {
    output: { type: 'string', short: 'o', description: 'output format (table, json)', default: 'table' },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Example:\n  trellis authz -n emojivoto deploy/web',
};

export async function runAuthz(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(AUTHZ_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource such as deploy/web, got ${cl.positionals.length}`);
  const ref = parseResource(cl.positionals[0] as string);
  const output = parseEnum<'table' | 'json'>('--output', String(v['output']), ['table', 'json']);
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const pods = (await resourcePods(kc, namespace, ref)).flatMap((r) => r.pods);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = async (group: string, version: string, plural: string): Promise<PolicyObject[]> =>
    ((await custom.listNamespacedCustomObject({ group, version, namespace, plural })) as { items: PolicyObject[] }).items;
  const rows = authorizationRows(
    pods.map((p) => p.metadata?.labels ?? {}),
    await list('policy.linkerd.io', 'v1beta3', 'servers'),
    [...(await list('policy.linkerd.io', 'v1beta3', 'httproutes')), ...(await list('gateway.networking.k8s.io', 'v1', 'httproutes').catch(() => []))],
    await list('policy.linkerd.io', 'v1alpha1', 'authorizationpolicies'),
    await list('policy.linkerd.io', 'v1beta1', 'serverauthorizations'),
  );
  if (output === 'json') io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.stderr.write(`No authorizations apply to ${cl.positionals[0]} in namespace ${namespace} (no Server selects its pods, or none is authorized).\n`);
  else io.stdout.write(renderAuthzTable(rows));
  return 0;
}
