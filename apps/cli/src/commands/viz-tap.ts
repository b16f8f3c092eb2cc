// `trellis viz tap RESOURCE` and `trellis viz top RESOURCE`: live requests of meshed workloads from the tap API
// (through the API server), printed as Linkerd prints them: one line per event, or the top table.
import { ConfigError, parseCommandLine, parseDuration, parseEnum, type CommandSpec, type FlagSpec } from '@trellis/config';
import { tapLineText } from '@trellis/tap-view/events';
import { streamTap, tapWarningText, type TapRequest, type TapWarning } from '@trellis/tap-view/stream';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { renderTapJson } from '../viz/tap-render.ts';
import { TopTable } from '../viz/top-table.ts';
import type { CommandIo } from './io.ts';

const FILTER_FLAGS = {
  to: { type: 'string', description: 'display requests to this resource (TYPE/NAME)' },
  'to-namespace': { type: 'string', description: 'namespace of the --to resource (default: the resource namespace)' },
  'max-rps': { type: 'string', description: 'maximum requests per second to tap', default: '100' },
  scheme: { type: 'string', description: 'display requests with this scheme' },
  method: { type: 'string', description: 'display requests with this HTTP method' },
  authority: { type: 'string', description: 'display requests with this :authority' },
  path: { type: 'string', description: 'display requests with paths that start with this prefix' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const TAP_SPEC: CommandSpec = {
  name: 'trellis viz tap',
  summary: 'Listen to a traffic stream: TYPE/NAME (deploy/web, po/web-0, ns/emojivoto, ...).',
  allowPositionals: true,
  flags: {
    ...FILTER_FLAGS,
    output: { type: 'string', short: 'o', description: 'output format: "" (lines), wide (with each side\'s resource), json' },
    'request-headers': { type: 'boolean', description: 'include request headers (json output)' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE/NAME',
  epilog: 'Examples:\n  trellis viz tap deploy/web -n emojivoto\n  trellis viz tap deploy/web -n emojivoto --to deploy/voting --path /emojivoto.v1.VotingService/',
};

export const TOP_SPEC: CommandSpec = {
  name: 'trellis viz top',
  summary: 'Display sorted information about live traffic: TYPE/NAME.',
  allowPositionals: true,
  flags: {
    ...FILTER_FLAGS,
    'hide-sources': { type: 'boolean', description: 'hide the Source column (rows merge across sources)' },
    interval: { type: 'string', description: 'how often the table is printed or redrawn', default: '2s' },
    duration: { type: 'string', description: 'stop after this long (default: until interrupted)', default: '0s' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE/NAME',
  epilog: 'When stdout is not a terminal the table is printed once per --interval, for scripts.\nExample:\n  trellis viz top deploy/voting -n emojivoto --hide-sources',
};

const PLURALS: Readonly<Record<string, string>> = {
  ns: 'namespaces', namespace: 'namespaces', namespaces: 'namespaces',
  po: 'pods', pod: 'pods', pods: 'pods',
  deploy: 'deployments', deployment: 'deployments', deployments: 'deployments',
  sts: 'statefulsets', statefulset: 'statefulsets', statefulsets: 'statefulsets',
  ds: 'daemonsets', daemonset: 'daemonsets', daemonsets: 'daemonsets',
  rs: 'replicasets', replicaset: 'replicasets', replicasets: 'replicasets',
  job: 'jobs', jobs: 'jobs',
  cj: 'cronjobs', cronjob: 'cronjobs', cronjobs: 'cronjobs',
};

/** deploy/web → deployments "web"; ns/emojivoto → a namespace tap. */
export function tapTarget(arg: string, namespace: string): { namespace: string; resource: string; name: string } {
  const [type = '', name = '', extra] = arg.split('/');
  const resource = PLURALS[type.toLowerCase()];
  if (!resource || extra !== undefined) throw new ConfigError(`invalid resource "${arg}": expected TYPE/NAME with TYPE one of deploy, sts, ds, rs, job, cj, po, ns`);
  if (resource === 'namespaces') return { namespace: name || namespace, resource, name: '' };
  if (!name) throw new ConfigError(`invalid resource "${arg}": a ${type} needs a name (${type}/NAME)`);
  return { namespace, resource, name };
}

function request(argv: { positionals: readonly string[]; values: Readonly<Record<string, unknown>> }, namespace: string): TapRequest {
  if (argv.positionals.length !== 1) throw new ConfigError(`expected one resource (e.g. deploy/web), got ${argv.positionals.length}`);
  const v = argv.values;
  const s = (k: string) => (typeof v[k] === 'string' && v[k] !== '' ? (v[k] as string) : undefined);
  const maxRps = Number(s('max-rps') ?? '100');
  if (!Number.isFinite(maxRps) || maxRps <= 0) throw new ConfigError(`invalid value "${s('max-rps')}" for --max-rps: expected a positive number`);
  return { ...tapTarget(argv.positionals[0] as string, namespace), toResource: s('to'), toNamespace: s('to-namespace'), method: s('method'), path: s('path'), authority: s('authority'), scheme: s('scheme'), maxRps };
}

/** Ends the stream on SIGINT/SIGTERM (the normal way out of a tap) instead of dying mid-line. */
function interruptible(): { ac: AbortController; done: () => void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    ac,
    done: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** A pod the tap API could not tap while the others stream: one line on stderr, and the stream goes on. */
const warnTo = (io: CommandIo) => (w: TapWarning) => io.stderr.write(`${tapWarningText(w)}\n`);

export async function runTap(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(TAP_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const output = parseEnum<'' | 'wide' | 'json'>('--output', String(cl.values['output'] ?? ''), ['', 'wide', 'json']);
  const kc = loadCluster(clusterSelection(cl.values));
  const req = { ...request(cl, targetNamespace(cl.values, kc)), extract: cl.values['request-headers'] === true };
  const wideKind = req.resource === 'namespaces' ? 'pod' : req.resource.replace(/s$/, '');
  const { ac, done } = interruptible();
  try {
    await streamTap(
      kc,
      req,
      (e) => io.stdout.write((output === 'json' ? renderTapJson(e) : tapLineText(e, output === 'wide' ? wideKind : undefined)) + '\n'),
      ac.signal,
      warnTo(io),
    );
  } finally {
    done();
  }
  return 0;
}

export async function runTop(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(TOP_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const intervalMs = parseDuration('--interval', String(cl.values['interval']));
  if (intervalMs < 100) throw new ConfigError(`invalid value "${String(cl.values['interval'])}" for --interval: at least 100ms`);
  const durationMs = parseDuration('--duration', String(cl.values['duration']));
  const kc = loadCluster(clusterSelection(cl.values));
  const req = request(cl, targetNamespace(cl.values, kc));
  const hideSources = cl.values['hide-sources'] === true;
  const table = new TopTable();
  const live = io.stdoutIsTTY === true;
  const draw = () => {
    const text = table.render({ hideSources });
    // A terminal gets the table redrawn in place; anything else one table per interval, separated by a blank line.
    io.stdout.write(live ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
  };
  const { ac, done } = interruptible();
  const timer = setInterval(draw, intervalMs);
  const stopAfter = durationMs > 0 ? setTimeout(() => ac.abort(), durationMs) : undefined;
  try {
    await streamTap(kc, req, (e) => table.add(e), ac.signal, warnTo(io));
  } finally {
    clearInterval(timer);
    clearTimeout(stopAfter);
    done();
  }
  draw();
  return 0;
}
