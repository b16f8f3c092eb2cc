// The `trellis` command: dispatches to subcommands and maps errors to one clear line and exit code 1.
import { TrellisError } from '@trellis/config';
import { apiErrorMessage } from '../cluster/api-error.ts';
import { runCheck } from './check.ts';
import { runDiagnostics } from './diagnostics.ts';
import { runInject } from './inject.ts';
import type { CommandIo } from './io.ts';
import { runUninject } from './uninject.ts';
import { runVersion } from './version.ts';
import { runStat, runViz } from './viz.ts';

const COMMANDS: Readonly<Record<string, { summary: string; run: (argv: readonly string[], io: CommandIo) => Promise<number> }>> = {
  check: { summary: 'Check the Trellis installation for potential problems', run: runCheck },
  diagnostics: { summary: 'Proxy diagnostics: proxy-metrics (the raw metrics of a resource\'s proxies)', run: runDiagnostics },
  inject: { summary: 'Add the Trellis proxy to Kubernetes manifests', run: runInject },
  uninject: { summary: 'Remove the Trellis proxy from Kubernetes manifests', run: runUninject },
  viz: { summary: 'Observe meshed traffic: viz stat (golden metrics per workload or pod)', run: runViz },
  stat: { summary: 'Alias of viz stat', run: runStat },
  version: { summary: 'Print the client and the control plane versions', run: runVersion },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return ['trellis manages the Trellis service mesh.', '', 'Usage: trellis <command> [flags]', '', 'Commands:', ...rows, '', 'Run trellis <command> --help for a command\'s flags.', ''].join('\n');
}

export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') return runVersion(['--client'], io);
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`trellis: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 1;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof TrellisError) {
      io.stderr.write(`trellis ${name}: ${err.message}\n`);
      return 1;
    }
    const api = apiErrorMessage(err);
    if (api) {
      io.stderr.write(`trellis ${name}: ${api}\n`);
      return 1;
    }
    throw err;
  }
}
