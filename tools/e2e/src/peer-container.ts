// How a pod runs one of the peer programs (src/peers/*-main.ts): on the kubelet node, from the trellis/e2e-peers image
// tools/images builds (`--peers`); on the node agent, whose busybox image stands for the host, with the host's Node
// on the repository's file.
import { join } from 'node:path';
import { VERSION } from '@trellis/config';
import type { NodeRuntime } from '@trellis/cluster/src/control-plane.ts';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';

/** A container that only holds its pod's network namespace for clients run from this host, ended at once by SIGTERM. */
export function idleContainer(runtime: NodeRuntime): string {
  if (runtime === 'kubelet') return `image: trellis/e2e-peers:${VERSION}, imagePullPolicy: Never, command: ${JSON.stringify(['node', '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"])}`;
  return 'image: busybox, command: [sleep, infinity]';
}

/** The container's image and command for `main` (e.g. server-main.ts), as YAML flow-mapping entries. */
export function peerContainer(runtime: NodeRuntime, main: string): string {
  if (runtime === 'kubelet') return `image: trellis/e2e-peers:${VERSION}, imagePullPolicy: Never, command: ${JSON.stringify(['node', `/app/${main.replace(/\.ts$/, '.js')}`])}`;
  return `image: busybox, command: ${JSON.stringify([process.execPath, join(REPO_ROOT, 'tools/e2e/src/peers', main)])}`;
}
