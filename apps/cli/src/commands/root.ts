// The `trellis` command: finds the (sub)command named in argv wherever the global flags sit (`trellis -n emojivoto
// check --proxy` as well as `trellis check --proxy -n emojivoto`), runs it, and maps errors to one clear line:
// exit 2 for a malformed command line, 1 for anything else.
import { formatHelp, TrellisError, UsageError, type CommandSpec } from '@trellis/config';
import { apiErrorMessage } from '../cluster/api-error.ts';
import { GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';
import type { CommandIo } from './io.ts';
import { ROOT, type CommandNode } from './tree.ts';

const VALUE_FLAGS = new Set(
  Object.entries(GLOBAL_FLAGS).flatMap(([name, f]) => (f.type === 'boolean' ? [] : [`--${name}`, ...('short' in f ? [`-${f.short}`] : [])])),
);

export interface Resolved {
  readonly path: readonly string[];
  readonly node: CommandNode;
  /** argv less the command names, in order: what the command's own parser reads. */
  readonly rest: readonly string[];
}

/** Walks argv to the deepest command it names; flags (and the values of global flags) are left for the command. */
export function resolveCommand(argv: readonly string[]): Resolved {
  const path: string[] = [];
  const rest: string[] = [];
  let node = ROOT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      rest.push(arg);
      if (VALUE_FLAGS.has(arg) && i + 1 < argv.length) rest.push(argv[++i] as string);
      continue;
    }
    if (node.subcommands && !node.run) {
      const sub = Object.entries(node.subcommands).find(([n, c]) => n === arg || c.aliases?.includes(arg));
      if (!sub) {
        const where = ['trellis', ...path].join(' ');
        throw new UsageError(`unknown command ${JSON.stringify(arg)} for "${where}" (see ${where} --help)`);
      }
      path.push(sub[0]);
      node = sub[1];
      continue;
    }
    rest.push(...argv.slice(i));
    break;
  }
  return { path, node, rest };
}

/** The usage of a command group: its subcommands and the global flags. */
export function groupHelp(path: readonly string[], node: CommandNode): string {
  const name = ['trellis', ...path].join(' ');
  const subs = Object.entries(node.subcommands ?? {})
    .filter(([, c]) => !c.hidden)
    .sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...subs.map(([n]) => n.length)) + 4;
  const flagsHelp = formatHelp({ name, summary: '', flags: {}, globalFlags: GLOBAL_FLAGS } satisfies CommandSpec);
  const flags = flagsHelp.slice(flagsHelp.indexOf('Flags:'));
  return [
    node.description ?? node.summary,
    '',
    `Usage: ${name} <command> [flags]`,
    '',
    'Commands:',
    ...subs.map(([n, c]) => `  ${n.padEnd(width)}${c.summary}${c.aliases?.length ? ` (alias: ${c.aliases.join(', ')})` : ''}`),
    '',
    flags.trimEnd(),
    '',
    `Run "${name} <command> --help" for a command's flags.`,
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const verbose = argv.includes('--verbose');
  let label = 'trellis';
  try {
    if (argv.length === 1 && argv[0] === '--version') return await (ROOT.subcommands?.['version']?.run?.(['--client'], io) ?? Promise.resolve(1));
    const { path, node, rest } = resolveCommand(argv);
    label = ['trellis', ...path].join(' ');
    if (node.run) return await node.run(rest, io);
    const help = rest.find((a) => a === '-h' || a === '--help');
    const stray = rest.find((a, i) => a.startsWith('-') && !VALUE_FLAGS.has(rest[i - 1] ?? '') && a !== '--verbose' && !isGlobalFlag(a));
    if (!help && stray) throw new UsageError(`unknown flag ${stray.split('=')[0]} (see ${label} --help)`);
    io.stdout.write(groupHelp(path, node));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${label}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof TrellisError) {
      io.stderr.write(`${label}: ${err.message}\n`);
      if (verbose && err.cause) io.stderr.write(`  cause: ${String((err.cause as Error).stack ?? err.cause)}\n`);
      return 1;
    }
    const api = apiErrorMessage(err);
    if (api) {
      io.stderr.write(`${label}: ${api}\n`);
      return 1;
    }
    throw err;
  }
}

function isGlobalFlag(arg: string): boolean {
  const key = arg.split('=')[0] as string;
  return VALUE_FLAGS.has(key) || key === '--verbose';
}
