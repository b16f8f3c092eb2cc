// Runs helper commands (iptables-save, iptables-restore, sysctl), inside --netns when given.
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** The command line as it will run, for logs and --simulate. */
  argv(command: readonly string[]): string[];
  run(command: readonly string[], input?: string): Promise<CommandResult>;
}

export function commandRunner(netns: string): CommandRunner {
  // nsenter switches only the network namespace: binaries and files still come from this mount namespace.
  const argv = (command: readonly string[]) => (netns ? ['nsenter', `--net=${netns}`, '--', ...command] : [...command]);
  return {
    argv,
    run(command, input) {
      const [file, ...args] = argv(command);
      return new Promise((resolve) => {
        const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.stdin.on('error', () => undefined); // the child may exit before reading its input; its exit code tells
        child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: `${file}: ${e.message}` }));
        child.on('close', (code, signal) =>
          resolve({ code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + (signal ? `killed by ${signal}` : '') }),
        );
        child.stdin.end(input ?? '');
      });
    },
  };
}
