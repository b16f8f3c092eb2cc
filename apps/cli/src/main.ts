// Wiring only: run the command line against the process's streams and exit with its code. No top-level await:
// the standalone executable bundles this file as CommonJS, the only format Node 24 runs inside one.
import { readAll } from './manifests/read.ts';
import { runCli } from './commands/root.ts';

// A reader that stops early (`trellis install | head`) closes the pipe: that ends the command, it is no error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readAll(process.stdin),
  stdoutIsTTY: process.stdout.isTTY === true,
}).then((code) => {
  process.exitCode = code;
});
