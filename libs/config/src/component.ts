// The entry of a long-running component (the injector, the viz services): parse the command line, build a logger
// and a metrics registry, start, and on SIGTERM or SIGINT close and exit. The flags such components share live here
// too, so that each spells them the same in --help and parses them the same.
import { createLogger, createRegistry, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel, type Registry } from '@trellis/telemetry';
import { runCommand, type CommandSpec, type FlagSpec, type FlagValue, type ParsedCommandLine } from './command-line.ts';
import { ConfigError, TrellisError } from './errors.ts';
import { parseEnum } from './values.ts';

type Values = Readonly<Record<string, FlagValue | undefined>>;

export const KUBECONFIG_FLAG: Readonly<Record<'kubeconfig', FlagSpec>> = {
  kubeconfig: { type: 'string', description: 'kubeconfig file (default: in-cluster service account, then $KUBECONFIG)', value: 'FILE' },
};

export const LOG_FLAGS: Readonly<Record<'log-level' | 'log-format', FlagSpec>> = {
  'log-level': { type: 'string', description: 'log level', default: 'info' },
  'log-format': { type: 'string', description: 'log format (plain, json)', default: 'plain' },
};

/** The value of --kubeconfig, or undefined when not given (in-cluster, then $KUBECONFIG). */
export function kubeconfigFlag(values: Values): string | undefined {
  const v = values['kubeconfig'];
  return typeof v === 'string' ? v : undefined;
}

export function logFlags(values: Values): { readonly logLevel: LogLevel; readonly logFormat: LogFormat } {
  return {
    logLevel: parseEnum('--log-level', String(values['log-level']), LOG_LEVELS),
    logFormat: parseEnum('--log-format', String(values['log-format']), LOG_FORMATS),
  };
}

/** An http:// or https:// URL, without its trailing slashes (paths are appended to it). */
export function parseHttpUrl(name: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`invalid value ${JSON.stringify(value)} for ${name}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`invalid value ${JSON.stringify(value)} for ${name}: expected an http:// or https:// URL`);
  return value.replace(/\/+$/, '');
}

export interface Component<C extends { readonly logLevel: LogLevel; readonly logFormat: LogFormat }> {
  readonly spec: CommandSpec;
  /** Parsed flags to the frozen config; throws ConfigError for a bad value. */
  readonly config: (cli: Extract<ParsedCommandLine, { kind: 'run' }>) => C;
  /** Starts serving; resolves once listening. */
  readonly start: (config: C, deps: { readonly log: Logger; readonly registry: Registry }) => Promise<{ close(): Promise<void> }>;
  /** The logger's component name. */
  readonly name: string;
}

/**
 * Runs a component as its main.ts: a bad flag prints one line and exits 1 (runCommand); a TrellisError from start
 * (an unreadable file, missing assets) logs one fatal line naming the problem and exits 1; SIGTERM or SIGINT logs
 * "shutting down", closes, and exits 0 (1 if closing failed).
 */
export async function runComponent<C extends { readonly logLevel: LogLevel; readonly logFormat: LogFormat }>(
  component: Component<C>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  await runCommand(component.spec, argv, async (cli) => {
    const config = component.config(cli);
    const log = createLogger({ name: component.name, level: config.logLevel, format: config.logFormat });
    let running: { close(): Promise<void> };
    try {
      running = await component.start(config, { log, registry: createRegistry() });
    } catch (err) {
      if (!(err instanceof TrellisError)) throw err;
      log.fatal({ code: err.code }, err.message);
      process.exitCode = 1;
      return;
    }
    const stop = () => {
      log.info('shutting down');
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
