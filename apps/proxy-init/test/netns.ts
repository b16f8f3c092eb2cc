// Helpers for the *.root.spec.ts tests: network namespaces named after this process (so parallel runs do not
// collide), proxy-init and the netns agent run as real child processes with the workspace's Node 24.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AgentAnswer } from './netns-agent.ts';

const execFileP = promisify(execFile);

export const NODE = process.execPath;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AGENT = fileURLToPath(new URL('./netns-agent.ts', import.meta.url));

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(cmd: string, args: readonly string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 127, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** Runs a command and throws with its output when it fails. */
export async function must(cmd: string, ...args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

let counter = 0;
/** A namespace name unique to this process and call. */
export const uniqueName = (what: string) => `trellis-pi-${process.pid}-${what}-${counter++}`;

export async function addNetns(name: string): Promise<string> {
  await must('ip', 'netns', 'add', name);
  await must('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return `/run/netns/${name}`;
}

/** Deletes every namespace given, even when some deletions fail; reports the failures together. */
export async function removeNetns(...names: string[]): Promise<void> {
  const results = await Promise.all(names.map((n) => run('ip', ['netns', 'del', n])));
  const failed = results.map((r, i) => [names[i], r] as const).filter(([, r]) => r.code !== 0 && !/No such file/.test(r.stderr));
  if (failed.length > 0) throw new Error(`could not delete ${failed.map(([n, r]) => `${n}: ${r.stderr.trim()}`).join('; ')}`);
}

export function proxyInit(...args: string[]): Promise<Result> {
  return run(NODE, [MAIN, ...args]);
}

/** iptables-save output without comments and with counters zeroed, so runs can be compared. */
export function normalizeSave(text: string): string {
  return (
    text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
      .join('\n') + '\n'
  );
}

export async function natTable(netns: string, save: string): Promise<string> {
  return normalizeSave(await must('ip', 'netns', 'exec', netns, save, '-t', 'nat'));
}

/** The agent serving `ports` inside `netns`; resolves once every listener is up. */
export async function startAgent(netns: string, ports: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn('ip', ['netns', 'exec', netns, NODE, AGENT, 'serve', ports]);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let stdout = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`agent in ${netns} exited ${code}: ${stderr}`)));
  });
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent in ${netns} not ready in 20s: ${stderr}`)), 20_000).unref());
  await Promise.race([ready, deadline]);
  return child;
}

export async function stopAgent(child: ChildProcessWithoutNullStreams | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin.end();
  await exited;
}

/** Connects from inside `netns` (optionally as another uid) and returns what the accepting agent said. */
export async function connectFrom(netns: string, host: string, port: number, uid?: number): Promise<AgentAnswer | { error: string }> {
  const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const out = await must('ip', 'netns', 'exec', netns, ...asUser, NODE, AGENT, 'connect', host, String(port));
  return JSON.parse(out.trim()) as AgentAnswer | { error: string };
}
