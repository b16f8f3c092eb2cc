// Starting and stopping the cluster's processes. Processes are detached so `trellis-cluster up` can exit and
// leave them running; each is recorded with its pid and command line so `down` stops exactly what it started.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly log: string;
  /** The network namespace (under /run/netns) it runs in, when not the host's. */
  readonly netns?: string;
}

/**
 * Starts a detached process. With `netns`, it runs in that network namespace: nsenter joins it and execs the
 * command in the same process, so the pid recorded is the command's.
 */
export function startProcess(name: string, argv: readonly string[], log: string, env: NodeJS.ProcessEnv = process.env, netns?: string): ProcessRecord {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error(`no command for ${name}`);
  const fd = openSync(log, 'a');
  try {
    const child = netns
      ? spawn('nsenter', [`--net=/run/netns/${netns}`, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd], env })
      : spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
    child.unref();
    return { name, pid: child.pid, argv, log, ...(netns ? { netns } : {}) };
  } finally {
    closeSync(fd);
  }
}

/** True when the pid is alive and still runs the command we started (pids get reused). */
export function isOurs(rec: ProcessRecord): boolean {
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0');
    if (cmdline[0] === rec.argv[0]) return true;
    // Started in a namespace, the process is nsenter until it execs the command, and has an empty command line for an
    // instant during that exec (a zombie has one too, and is not running).
    return rec.netns !== undefined && ((cmdline[0] === 'nsenter' && cmdline.includes(rec.argv[0]!)) || (cmdline.join('') === '' && !isZombie(rec.pid)));
  } catch {
    return false;
  }
}

export async function stopProcess(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isOurs(rec)) return;
  process.kill(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isOurs(rec) && !isZombie(rec.pid) && Date.now() < deadline) await delay(50);
  if (isOurs(rec) && !isZombie(rec.pid)) process.kill(rec.pid, 'SIGKILL');
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^\d+ \(.*\)/, ''));
  } catch {
    return true;
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; on timeout throws with the tail of the process log. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, rec?: ProcessRecord): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (rec && !isOurs(rec)) throw new Error(`${rec.name} exited while waiting for ${what}:\n${tail(rec.log)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${rec ? `:\n${tail(rec.log)}` : ''}`);
    await delay(100);
  }
}

export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
