// Wiring only: parse the command line, build the parts, start them.
import { runCommand } from '@trellis/config';

await runCommand(
  {
    name: 'proxy-injector',
    summary: 'trellis proxy-injector: the admission webhook that adds the Trellis proxy to meshed pods.',
    flags: {},
  },
  process.argv.slice(2),
  () => {
    process.stderr.write('proxy-injector: not implemented yet; see the open issues\n');
    process.exitCode = 1;
  },
);
