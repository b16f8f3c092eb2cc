// HTTP, TCP and exec probes and lifecycle hooks. The agent runs on the host and reaches a pod at its pod IP over the
// bridge; a probe that names another host is refused, so probes only ever reach addresses inside our namespaces.
import { request } from 'node:http';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import type { KObject } from './kube.ts';

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

export interface ProbeTarget {
  readonly podIP: string;
  readonly container: KObject;
  /** Runs a command in the container; resolves with its exit code and output. */
  readonly exec: (command: readonly string[], timeoutMs: number) => Promise<{ code: number; output: string }>;
  /** True for addresses this node owns (the pod range). */
  readonly isPodAddress: (ip: string) => boolean;
}

/** A named or numeric port of the container. */
export function resolvePort(port: unknown, container: KObject): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const named = ((container['ports'] ?? []) as KObject[]).find((p) => p['name'] === port);
  return named ? Number(named['containerPort']) : undefined;
}

function httpGet(host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, headers: { 'user-agent': 'kube-probe/1.34', ...headers }, timeout: timeoutMs }, (res) => {
      res.resume();
      const s = res.statusCode ?? 0;
      resolve(s >= 200 && s < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${s}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: `Get "http://${host}:${port}${path}": ${err.message}` }));
    req.end();
  });
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once('timeout', () => sock.destroy(new Error('timeout')));
    sock.once('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

/** One run of a probe or hook handler (httpGet, tcpSocket or exec). */
export async function runHandler(handler: KObject, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (handler['exec']) {
    const cmd = (handler['exec']['command'] ?? []) as string[];
    const r = await target.exec(cmd, timeoutMs);
    return r.code === 0 ? { ok: true } : { ok: false, message: `command ${JSON.stringify(cmd)} exited with ${r.code}: ${r.output.slice(0, 200)}` };
  }
  const h = handler['httpGet'] ?? handler['tcpSocket'];
  if (!h) return { ok: false, message: `unsupported handler ${JSON.stringify(Object.keys(handler))}` };
  const port = resolvePort(h['port'], target.container);
  if (port === undefined) return { ok: false, message: `port ${JSON.stringify(h['port'])} not found in container` };
  const host = (h['host'] as string | undefined) || target.podIP;
  if (!target.isPodAddress(host)) return { ok: false, message: `probe host ${host} is outside this node's pod range: refused` };
  if (handler['tcpSocket']) return tcpConnect(host, port, timeoutMs);
  if ((h['scheme'] ?? 'HTTP') !== 'HTTP') return { ok: false, message: `probe scheme ${h['scheme']} is not supported` };
  const headers = Object.fromEntries(((h['httpHeaders'] ?? []) as KObject[]).map((x) => [String(x['name']), String(x['value'])]));
  return httpGet(host, port, String(h['path'] ?? '/'), headers, timeoutMs);
}

/** The timing of a probe with Kubernetes' defaults. */
export function probeTiming(p: KObject): { initialDelayMs: number; periodMs: number; timeoutMs: number; success: number; failure: number } {
  return {
    initialDelayMs: Number(p['initialDelaySeconds'] ?? 0) * 1000,
    periodMs: Number(p['periodSeconds'] ?? 10) * 1000,
    timeoutMs: Number(p['timeoutSeconds'] ?? 1) * 1000,
    success: Number(p['successThreshold'] ?? 1),
    failure: Number(p['failureThreshold'] ?? 3),
  };
}

/**
 * Linkerd's proxy hook `linkerd-await --port=N` waits until the proxy's admin /ready answers 200. The image has no
 * such binary here, so the agent does the same wait itself.
 */
export function awaitHookPort(command: readonly string[]): { port: number; timeoutMs: number } | undefined {
  if (!command[0]?.endsWith('/linkerd-await')) return undefined;
  let port = 4191;
  let timeoutMs = 120_000;
  for (const a of command.slice(1)) {
    const p = /^--port=(\d+)$/.exec(a);
    if (p) port = Number(p[1]);
    const t = /^--timeout=(\d+)(ms|s|m)$/.exec(a);
    if (t) timeoutMs = Number(t[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[t[2] as 'ms' | 's' | 'm'];
  }
  return { port, timeoutMs };
}

/** Runs a command with a timeout; resolves with exit code (or -1) and combined output. */
export function runCommandOnHost(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    execFile(cmd!, args, { env, timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (!err) return resolve({ code: 0, output });
      const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, output: output || err.message });
    });
  });
}
