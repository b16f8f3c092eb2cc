// A machine-wide exclusive lock: flock(1) on a file, held by a small child process for as long as the holder runs
// its critical section. The kernel drops the lock when that child goes, which it does when its stdin closes: at the
// end of the section, and also when the holder dies, so a crashed run never leaves the lock taken.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Runs `section` while holding the exclusive flock on `path` (created if missing); waits for other holders first. */
export async function withMachineLock<T>(path: string, section: () => Promise<T>): Promise<T> {
  const holder = spawn('flock', ['--exclusive', path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(holder, 'exit');
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', (err) => reject(new Error(`cannot take the lock ${path} with flock: ${err.message}`)));
    void exited.then(([code]) => reject(new Error(`cannot take the lock ${path}: flock exited ${String(code)} ${stderr.trim()}`)));
  });
  try {
    return await section();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
