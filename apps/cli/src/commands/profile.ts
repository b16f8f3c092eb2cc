// `trellis profile`: a ServiceProfile for a Service, as a template to edit or generated from an OpenAPI or .proto
// file, for `kubectl apply -f -`. The cluster domain comes from the install (trellis-config) unless --ignore-cluster.
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { stringify } from 'yaml';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { fetchClusterValues } from '../cluster/values.ts';
import { openApiRoutes, profileOf, protoRoutes, template, type ServiceRef } from '../profile/generate.ts';
import type { CommandIo } from './io.ts';

export const PROFILE_SPEC: CommandSpec = {
  name: 'trellis profile',
  summary: 'Output a ServiceProfile for a Service: --template, --open-api FILE or --proto FILE.',
  allowPositionals: true,
  args: 'SERVICE',
  flags: {
    template: { type: 'boolean', description: 'a commented template to edit' },
    'open-api': { type: 'string', value: 'FILE', description: 'routes from an OpenAPI 3 or Swagger 2 document (YAML or JSON)' },
    proto: { type: 'string', value: 'FILE', description: "routes from a .proto file's services (POST /package.Service/Method)" },
    output: { type: 'string', short: 'o', description: 'output format (yaml, json); not for --template', default: 'yaml' },
    'ignore-cluster': { type: 'boolean', description: 'do not read the cluster domain from the install; use cluster.local' },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: ['Examples:', '  trellis profile -n emojivoto --template web-svc', '  trellis profile -n emojivoto --proto Voting.proto voting-svc | kubectl apply -f -'].join('\n'),
};

async function clusterDomain(v: Readonly<Record<string, unknown>>): Promise<string> {
  if (v['ignore-cluster'] === true) return 'cluster.local';
  const values = (await fetchClusterValues({ namespace: controlPlaneNamespace(v), ...clusterSelection(v) })) as { clusterDomain?: unknown } | null;
  return typeof values?.clusterDomain === 'string' && values.clusterDomain ? values.clusterDomain : 'cluster.local';
}

async function readSpec(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read --${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export async function runProfile(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(PROFILE_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const modes = (['template', 'open-api', 'proto'] as const).filter((m) => v[m] !== undefined && v[m] !== false);
  if (modes.length !== 1) throw new ConfigError('give exactly one of --template, --open-api FILE and --proto FILE');
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one Service name, got ${cl.positionals.length}`);
  const output = parseEnum<'yaml' | 'json'>('--output', String(v['output']), ['yaml', 'json']);
  let kc: KubeConfig | undefined;
  try {
    kc = loadCluster(clusterSelection(v));
  } catch (err) {
    // Offline, a missing kubeconfig only means no context namespace to default to.
    if (v['ignore-cluster'] !== true) throw err;
  }
  const namespace = targetNamespace(v, kc);
  const ref: ServiceRef = { service: cl.positionals[0] as string, namespace, clusterDomain: await clusterDomain(v) };
  if (modes[0] === 'template') {
    io.stdout.write(template(ref));
    return 0;
  }
  const routes = modes[0] === 'proto' ? protoRoutes(await readSpec('proto', String(v['proto'])), String(v['proto'])) : openApiRoutes(await readSpec('open-api', String(v['open-api'])), String(v['open-api']));
  const profile = profileOf(ref, routes);
  io.stdout.write(output === 'json' ? `${JSON.stringify(profile, null, 2)}\n` : `---\n${stringify(profile)}`);
  return 0;
}
