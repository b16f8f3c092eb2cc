// Environment of the demo services (the same variable names as emojivoto's manifests), parsed once at start.
import { ConfigError, parseDuration, parsePort } from '@trellis/config';

export type Env = Readonly<Record<string, string | undefined>>;

export function envPort(env: Env, name: string, fallback: number): number {
  const v = env[name];
  return v === undefined || v === '' ? fallback : parsePort(name, v);
}

export function envHostPort(env: Env, name: string, fallback?: string): string {
  const v = env[name] || fallback;
  if (!v) throw new ConfigError(`${name} is not set: expected host:port`);
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(v)) throw new ConfigError(`invalid value ${JSON.stringify(v)} for ${name}: expected host:port`);
  return v;
}

export function envDuration(env: Env, name: string, fallbackMs: number): number {
  const v = env[name];
  return v === undefined || v === '' ? fallbackMs : parseDuration(name, v);
}

/** Runs a demo service's main: ConfigErrors print one line and exit 1; SIGTERM/SIGINT call stop, then exit. */
export async function serve(name: string, start: () => Promise<() => Promise<void>>): Promise<void> {
  let stop: () => Promise<void>;
  try {
    stop = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const onSignal = () => void stop().then(() => process.exit(0));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
