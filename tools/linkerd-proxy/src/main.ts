// The entrypoint of Linkerd's proxy image, written for Trellis' node: key and CSR into the identity directory,
// then the proxy takes this process's place (exec), with the same environment and arguments.
import { fileURLToPath } from 'node:url';
import { EntrypointError, identityEnv, writeIdentity } from './identity.ts';

/** The proxy: the image's binary (TRELLIS_LINKERD2_PROXY_BIN), else tools/bin/linkerd2-proxy, which finds the pinned one and checks it. */
const PROXY = process.env['TRELLIS_LINKERD2_PROXY_BIN'] || fileURLToPath(new URL('../../bin/linkerd2-proxy', import.meta.url));

try {
  await writeIdentity(identityEnv(process.env));
} catch (err) {
  process.stderr.write(`linkerd-proxy entrypoint: ${err instanceof EntrypointError ? err.message : String(err)}\n`);
  process.exit(1);
}
// process.execve (Node 23.11+) replaces this process, so the proxy gets its pid, signals and exit status.
if (!process.execve) {
  process.stderr.write(`linkerd-proxy entrypoint: this Node (${process.version}) has no process.execve; run it with the repository's Node 24\n`);
  process.exit(1);
}
process.execve(PROXY, [PROXY, ...process.argv.slice(2)], process.env as Record<string, string>);
