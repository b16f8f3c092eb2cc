// Wiring only: parse the command line, build the parts, start them.
import { runCommand } from '@trellis/config';

await runCommand(
  {
    name: 'identity',
    summary: 'trellis identity: the mesh certificate authority. Serves io.linkerd.proxy.identity.Identity/Certify.',
    flags: {},
  },
  process.argv.slice(2),
  () => {
    process.stderr.write('identity: not implemented yet; see the open issues\n');
    process.exitCode = 1;
  },
);
