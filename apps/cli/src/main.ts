// Wiring only: run the command line against the process's streams and exit with its code.
import { readAll } from './manifests/read.ts';
import { runCli } from './commands/root.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readAll(process.stdin),
});
