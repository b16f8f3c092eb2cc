// Command-line parsing with the conventions platform engineers know from Go/cobra tools:
// --flag value, --flag=value, -f value, boolean --flag / --flag=false, repeated or comma-separated lists.
// --help and --version are built in. Errors name the flag and the value.
import { ConfigError, UsageError } from './errors.ts';
import { VERSION } from './version.ts';

export interface FlagSpec {
  readonly type: 'string' | 'boolean' | 'list';
  readonly description: string;
  readonly short?: string;
  readonly default?: string | boolean | readonly string[];
  /** Placeholder shown in --help, e.g. "PORTS". */
  readonly value?: string;
  /** Lists only: false keeps each value whole (helm's --set a=1,b=2 is one value); repeats still append. */
  readonly split?: boolean;
}

export interface CommandSpec {
  /** The program name, as shown in usage and --version. */
  readonly name: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Extra usage text after the flag list. */
  readonly epilog?: string;
  readonly allowPositionals?: boolean;
  /** Placeholder for the positionals in the usage line, e.g. "TYPE[/NAME]". */
  readonly args?: string;
  /** Flags every command of a program takes (accepted like `flags`, listed apart in --help); `flags` wins a clash. */
  readonly globalFlags?: Readonly<Record<string, FlagSpec>>;
}

export type FlagValue = string | boolean | string[];
export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly values: Readonly<Record<string, FlagValue | undefined>>; readonly positionals: readonly string[]; readonly explicit: ReadonlySet<string> }
  | { readonly kind: 'exit'; readonly code: number };

interface Output {
  write(chunk: string): unknown;
}

function flagRows(flags: Readonly<Record<string, FlagSpec>>): [string, string][] {
  return Object.entries(flags).map(([name, f]) => {
    const short = f.short ? `-${f.short}, ` : '    ';
    const arg = f.type === 'boolean' ? '' : ` ${f.value ?? (f.type === 'list' ? 'LIST' : 'VALUE')}`;
    const def =
      f.default === undefined || f.default === '' || (Array.isArray(f.default) && f.default.length === 0)
        ? ''
        : ` (default ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
    return [`  ${short}--${name}${arg}`, `${f.description}${def}`];
  });
}

export function formatHelp(spec: CommandSpec): string {
  const rows = flagRows(spec.flags);
  rows.push(['  -h, --help', 'show this help and exit'], ['      --version', 'print the version and exit']);
  const globals = flagRows(Object.fromEntries(Object.entries(spec.globalFlags ?? {}).filter(([n]) => !(n in spec.flags))));
  const width = Math.max(...[...rows, ...globals].map(([l]) => l.length)) + 2;
  const args = spec.allowPositionals ? ` ${spec.args ?? '[args]'}` : '';
  const lines = [spec.summary, '', `Usage: ${spec.name} [flags]${args}`, '', 'Flags:'];
  for (const [l, r] of rows) lines.push(l.padEnd(width) + r);
  if (globals.length) {
    lines.push('', 'Global flags:');
    for (const [l, r] of globals) lines.push(l.padEnd(width) + r);
  }
  if (spec.epilog) lines.push('', spec.epilog);
  return lines.join('\n') + '\n';
}

/** Parses argv; throws ConfigError for anything malformed. Handles --help and --version by printing to `out`. */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[], out: Output = process.stdout): ParsedCommandLine {
  const flags = { ...spec.globalFlags, ...spec.flags };
  const byShort = new Map(Object.entries(flags).flatMap(([n, f]) => (f.short ? [[f.short, n] as const] : [])));
  const values: Record<string, FlagValue | undefined> = {};
  const explicit = new Set<string>();
  const positionals: string[] = [];
  const listsSeen = new Set<string>();
  for (const [n, f] of Object.entries(flags)) values[n] = Array.isArray(f.default) ? [...f.default] : (f.default as FlagValue | undefined);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      out.write(formatHelp(spec));
      return { kind: 'exit', code: 0 };
    }
    if (arg === '--version') {
      out.write(`${spec.name} ${VERSION}\n`);
      return { kind: 'exit', code: 0 };
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!spec.allowPositionals) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: ${spec.name} takes flags only (see --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq === -1 ? arg : arg.slice(0, eq);
    let inline: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let name: string | undefined;
    if (key.startsWith('--')) name = key.slice(2);
    else if (key.length === 2) name = byShort.get(key.slice(1));
    else if (key.length > 2) {
      // -p4143 style: short flag with its value attached
      name = byShort.get(key.slice(1, 2));
      if (name && inline === undefined) inline = key.slice(2);
    }
    const flag = name === undefined ? undefined : flags[name];
    if (name === undefined || !flag) throw new UsageError(`unknown flag ${key} (see ${spec.name} --help)`);
    explicit.add(name);
    if (flag.type === 'boolean') {
      if (inline === undefined) values[name] = true;
      else if (inline === 'true' || inline === 'false') values[name] = inline === 'true';
      else throw new ConfigError(`invalid value ${JSON.stringify(inline)} for --${name}: expected true or false`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value`);
      value = argv[++i] as string;
    }
    if (flag.type === 'list') {
      // The first use replaces the default; repeats append, as cobra's slice flags do.
      const prev = listsSeen.has(name) ? (values[name] as string[]) : [];
      listsSeen.add(name);
      values[name] = [...prev, ...(flag.split === false ? [value] : value.split(',').map((s) => s.trim()).filter(Boolean))];
    } else values[name] = value;
  }
  return { kind: 'run', values, positionals, explicit };
}

/**
 * Runs a program's entry: parses the command line, prints ConfigErrors as one clear line and exits 1,
 * and hands parsed values to `start`. Used by every app's main.ts.
 */
export async function runCommand(
  spec: CommandSpec,
  argv: readonly string[],
  start: (cli: Extract<ParsedCommandLine, { kind: 'run' }>) => unknown,
): Promise<void> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(spec, argv);
    if (parsed.kind === 'exit') {
      process.exitCode = parsed.code;
      return;
    }
    await start(parsed);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
