// Child processes for the image tooling: output captured for errors, optional stdin, never a shell.
import { execFile } from 'node:child_process';
import { TrellisError } from '@trellis/config';

/** A build step (buildah, nx, git) that exited non-zero; the message carries its command line and output. */
export class StepFailedError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IMAGE_STEP', message);
  }
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function exec(cmd: string, args: readonly string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`cannot run ${cmd}: ${err.message}`));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    // A child may exit before reading all its input: its exit code says what happened, the write's EPIPE adds nothing.
    child.stdin?.on('error', () => undefined);
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  });
}

/** Runs a command that must succeed; the error carries the command line and its stderr. */
export async function must(cmd: string, args: readonly string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new StepFailedError(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${`${r.stdout}\n${r.stderr}`.trim().slice(-4000)}`);
  return r.stdout;
}
