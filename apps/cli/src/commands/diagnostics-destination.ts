// `trellis diagnostics endpoints|profile|policy`: what destination tells a proxy for an authority, an address or a
// workload's port, asked over the proxies' own gRPC APIs through a port-forward to a destination pod (as Linkerd's
// diagnostics do), or at --destination-addr / --policy-addr when you reach destination another way.
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec, type FlagSpec } from '@trellis/config';
import { CoreV1Api } from '@kubernetes/client-node';
import { destination, inbound, outbound } from '@trellis/proto';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { connectDestination, getEndpoints, getInboundPolicy, getOutboundPolicy, getProfile, type Connection, type DestinationApi } from '../diagnostics/destination.ts';
import { endpointRows, renderEndpoints, renderMessage, type EndpointRow } from '../diagnostics/render.ts';
import { parseResource, resourcePods } from '../viz/pods.ts';
import type { CommandIo } from './io.ts';

const direct = (api: DestinationApi): Record<string, FlagSpec> =>
  api === 'destination'
    ? { 'destination-addr': { type: 'string', value: 'HOST:PORT', description: "destination's gRPC address, reached directly (default: a port-forward to a destination pod)" } }
    : { 'policy-addr': { type: 'string', value: 'HOST:PORT', description: "destination's policy gRPC address, reached directly (default: a port-forward to a destination pod)" } };

export const ENDPOINTS_SPEC: CommandSpec = {
  name: 'trellis diagnostics endpoints',
  summary: 'Print the endpoints destination gives a proxy for each authority (Destination.Get).',
  allowPositionals: true,
  flags: { ...direct('destination'), output: { type: 'string', short: 'o', description: 'output format (table, json)', default: 'table' } },
  globalFlags: GLOBAL_FLAGS,
  args: 'AUTHORITY...',
  epilog: 'Example:\n  trellis diagnostics endpoints web-svc.emojivoto.svc.cluster.local:80',
};

export const PROFILE_DIAG_SPEC: CommandSpec = {
  name: 'trellis diagnostics profile',
  summary: 'Print the profile destination gives a proxy for an authority or an IP:PORT (Destination.GetProfile).',
  allowPositionals: true,
  flags: { ...direct('destination'), output: { type: 'string', short: 'o', description: 'output format (yaml, json)', default: 'yaml' } },
  globalFlags: GLOBAL_FLAGS,
  args: 'AUTHORITY | IP:PORT',
  epilog: 'Example:\n  trellis diagnostics profile voting-svc.emojivoto.svc.cluster.local:8080',
};

export const POLICY_SPEC: CommandSpec = {
  name: 'trellis diagnostics policy',
  summary: "Print the policy destination gives a proxy: a Service's outbound policy (svc/NAME PORT) or a pod's inbound policy (po/NAME or deploy/NAME PORT).",
  allowPositionals: true,
  flags: { ...direct('policy'), output: { type: 'string', short: 'o', description: 'output format (yaml, json)', default: 'yaml' } },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE/NAME PORT',
  epilog: [
    'svc/NAME: OutboundPolicies.Get for NAME.<namespace>.svc:PORT, as a client in the namespace gets it.',
    'po/NAME, deploy/NAME (its first pod), sts/NAME, ds/NAME: InboundServerPolicies.GetPort for that port.',
    '',
    'Example:',
    '  trellis diagnostics policy -n emojivoto svc/web-svc 80',
    '  trellis diagnostics policy -n emojivoto deploy/web 8080',
  ].join('\n'),
};

async function withDestination<T>(v: Readonly<Record<string, unknown>>, api: DestinationApi, f: (c: Connection, ns: string) => Promise<T>): Promise<T> {
  const flag = api === 'destination' ? v['destination-addr'] : v['policy-addr'];
  const given = typeof flag === 'string' && flag !== '' ? flag : undefined;
  const kc = loadCluster(clusterSelection(v));
  const c = await connectDestination(kc, controlPlaneNamespace(v), api, given);
  try {
    return await f(c, targetNamespace(v, kc));
  } finally {
    await c.close();
  }
}

export async function runEndpoints(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(ENDPOINTS_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const output = parseEnum<'table' | 'json'>('--output', String(cl.values['output']), ['table', 'json']);
  if (cl.positionals.length === 0) throw new ConfigError('name at least one authority, e.g. web-svc.emojivoto.svc.cluster.local:80');
  for (const a of cl.positionals) if (!/^[^\s:/]+:\d{1,5}$/.test(a)) throw new ConfigError(`invalid authority "${a}": expected HOST:PORT, e.g. web-svc.emojivoto.svc.cluster.local:80`);
  return withDestination(cl.values, 'destination', async (c, ns) => {
    const all: Record<string, EndpointRow[]> = {};
    for (const authority of cl.positionals) {
      const update = await getEndpoints(c, authority, JSON.stringify({ ns }));
      const rows = update ? endpointRows(update) : [];
      all[authority] = rows;
      if (rows.length === 0 && output === 'table') io.stderr.write(`No endpoints found for ${authority}${update ? '' : ' (destination sent none within 10 s)'}.\n`);
    }
    const rows = Object.values(all).flat();
    if (output === 'json') io.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    else if (rows.length) io.stdout.write(renderEndpoints(rows));
    return 0;
  });
}

export async function runProfileDiagnostics(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(PROFILE_DIAG_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const output = parseEnum<'yaml' | 'json'>('--output', String(cl.values['output']), ['yaml', 'json']);
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one authority or IP:PORT, got ${cl.positionals.length}`);
  const target = cl.positionals[0] as string;
  if (!/^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(target)) throw new ConfigError(`invalid target "${target}": expected HOST:PORT or IP:PORT`);
  return withDestination(cl.values, 'destination', async (c, ns) => {
    const profile = await getProfile(c, target, JSON.stringify({ ns }));
    io.stdout.write(renderMessage(destination.DestinationProfile.toJSON(profile), output));
    return 0;
  });
}

export async function runPolicy(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(POLICY_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const output = parseEnum<'yaml' | 'json'>('--output', String(v['output']), ['yaml', 'json']);
  if (cl.positionals.length !== 2) throw new ConfigError(`expected TYPE/NAME and PORT, got ${cl.positionals.length} argument(s)`);
  const [resource = '', portText = ''] = cl.positionals;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ConfigError(`invalid port "${portText}": expected 1..65535`);
  const [type = '', name] = resource.split('/');
  if (!name) throw new ConfigError(`invalid resource "${resource}": expected svc/NAME, po/NAME, deploy/NAME, sts/NAME or ds/NAME`);
  const service = ['svc', 'service', 'services'].includes(type.toLowerCase());
  return withDestination(v, 'policy', async (c, ns) => {
    if (service) {
      const authority = `${name}.${ns}.svc:${port}`;
      const spec: outbound.TrafficSpec = { sourceWorkload: JSON.stringify({ ns }), target: { $case: 'authority', value: authority } };
      const policy = await getOutboundPolicy(c, spec, `outbound policy of ${authority}`);
      io.stdout.write(renderMessage(outbound.OutboundPolicy.toJSON(policy), output));
      return 0;
    }
    const ref = parseResource(resource);
    const kc = loadCluster(clusterSelection(v));
    const pod =
      ref.kind === 'pod'
        ? await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name, namespace: ns })
        : (await resourcePods(kc, ns, ref)).flatMap((r) => r.pods).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
    if (!pod) throw new ConfigError(`${resource} has no pods in ${ns}`);
    const podName = pod.metadata?.name ?? '';
    const server = await getInboundPolicy(c, { workload: JSON.stringify({ ns, pod: podName }), port }, `inbound policy of ${ns}/${podName} port ${port}`);
    io.stdout.write(renderMessage(inbound.Server.toJSON(server), output));
    return 0;
  });
}
