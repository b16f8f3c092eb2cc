// Wiring only: parse the command line, build the parts, start them.
import { runCommand } from '@trellis/config';

await runCommand(
  {
    name: 'destination',
    summary: 'trellis destination: service discovery and policy for meshed proxies (Destination and policy APIs).',
    flags: {},
  },
  process.argv.slice(2),
  () => {
    process.stderr.write('destination: not implemented yet; see the open issues\n');
    process.exitCode = 1;
  },
);
