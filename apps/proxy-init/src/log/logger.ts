// pino logger in Linkerd's two shapes: "plain" (logrus-style text lines, as `kubectl logs` shows for
// linkerd-init) or "json" (one object per line).
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '../config/config.ts';

interface Output {
  write(chunk: string): unknown;
}

const quote = (v: unknown) => JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v));

/** Rewrites pino's JSON lines as `time="…" level=info msg="…" key="…"`. */
export function plainDestination(out: Output): DestinationStream {
  return {
    write(line: string) {
      const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const fields = Object.entries(rest).map(([k, v]) => `${k}=${quote(v)}`);
      out.write([`time=${quote(time)}`, `level=${String(level)}`, `msg=${quote(msg ?? '')}`, ...fields].join(' ') + '\n');
    },
  };
}

export function createLogger(format: LogFormat, level: LogLevel, out: Output = process.stdout): Logger {
  const options = {
    level,
    base: undefined,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, format === 'json' ? (out as DestinationStream) : plainDestination(out));
}
