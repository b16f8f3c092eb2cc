// Wiring only: parse the command line, build the parts, start them.
import { runCommand } from '@trellis/config';

await runCommand(
  {
    name: 'proxy-init',
    summary: "trellis proxy-init: writes the iptables rules that send a pod's TCP traffic through its proxy.",
    flags: {},
  },
  process.argv.slice(2),
  () => {
    process.stderr.write('proxy-init: not implemented yet; see the open issues\n');
    process.exitCode = 1;
  },
);
