// Structured logging with pino. One logger per process, built from the parsed config; components take child
// loggers. Secrets are redacted by key name as a backstop: callers must not log them in the first place.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'plain'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** The component, e.g. "identity"; becomes the `component` field. */
  readonly name: string;
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

/** Field names whose values are never written, wherever they appear (one level deep). */
export const REDACTED_KEYS = ['token', 'key', 'privateKey', 'password', 'authorization', 'secret'] as const;

export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? process.stdout;
  // A reader that went away (`| head`, a closed pipe) must not crash the process through an unhandled EPIPE.
  if (out.listenerCount('error') === 0) out.on('error', () => undefined);
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`]);
  return pino(
    {
      level: opts.level,
      base: { component: opts.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths, censor: '[redacted]' },
    },
    opts.format === 'json' ? out : plainStream(out),
  );
}

const RESERVED = new Set(['level', 'time', 'msg', 'component']);

/** One line per record: `<time> <LEVEL> <component>: <msg> key=value ...` for people reading a terminal. */
function plainStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out.write(line + '\n');
          continue;
        }
        const fields = Object.entries(rec)
          .filter(([k]) => !RESERVED.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
        const level = String(rec['level'] ?? '').toUpperCase().padEnd(5);
        out.write(`${String(rec['time'])} ${level} ${String(rec['component'])}: ${String(rec['msg'] ?? '')}${fields.length ? ' ' + fields.join(' ') : ''}\n`);
      }
      done();
    },
  });
}
