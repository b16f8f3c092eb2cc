// How a pod runs one of the peer programs (src/peers/*-main.ts): from the trellis/e2e-peers image tools/images builds
// (`--peers`), loaded into the node's containerd.
import { VERSION } from '@trellis/config';

const PEERS_IMAGE = `image: trellis/e2e-peers:${VERSION}, imagePullPolicy: Never`;

/** A container that only holds its pod's network namespace for clients run from this host, ended at once by SIGTERM. */
export function idleContainer(): string {
  return `${PEERS_IMAGE}, command: ${JSON.stringify(['node', '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"])}`;
}

/** The container's image and command for `main` (e.g. server-main.ts), as YAML flow-mapping entries. */
export function peerContainer(main: string): string {
  return `${PEERS_IMAGE}, command: ${JSON.stringify(['node', `/app/${main.replace(/\.ts$/, '.js')}`])}`;
}
