// Wiring only: parse the command line, build the parts, start them.
import { runCommand } from '@trellis/config';

await runCommand(
  {
    name: 'proxy',
    summary: "trellis proxy: the sidecar that carries a meshed pod's traffic.",
    flags: {},
  },
  process.argv.slice(2),
  () => {
    process.stderr.write('proxy: not implemented yet; see the open issues\n');
    process.exitCode = 1;
  },
);
