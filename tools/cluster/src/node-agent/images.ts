// The one table that maps container images to local commands: this node has no container runtime, so an image
// stands for a program already on the machine. Docker's rules apply on top: `command` replaces the entrypoint,
// `args` are appended.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ImageResolution {
  readonly ok: true;
  readonly argv: readonly string[];
}

export interface ImageFailure {
  readonly ok: false;
  /** A container waiting reason, as a kubelet would report it. */
  readonly reason: 'ErrImageNotMapped' | 'ErrImageNotBuilt' | 'CreateContainerConfigError';
  readonly message: string;
}

export interface ImageTableOptions {
  readonly repoRoot: string;
  /** The Node.js that runs our bundles (the repo's Node 24). */
  readonly node: string;
  readonly exists?: (path: string) => boolean;
}

const DEMO_APPS = ['web', 'emoji', 'voting', 'vote-bot'];
/** Linkerd's proxy image: its entrypoint (key and CSR, then exec of the pinned linkerd2-proxy), for interop tests. */
const LINKERD_PROXY = 'cr.l5d.io/linkerd/proxy';

/** Entrypoint of an image, or why there is none. */
export function imageEntrypoint(image: string, opts: ImageTableOptions): ImageResolution | ImageFailure {
  const exists = opts.exists ?? existsSync;
  const [repo = ''] = image.split('@')[0]!.split(/:(?=[^/]*$)/);
  const name = repo.replace(/^(docker\.io\/|localhost\/)/, '');
  if (name === LINKERD_PROXY) return { ok: true, argv: [opts.node, join(opts.repoRoot, 'tools/linkerd-proxy/src/main.ts')] };
  const demo = /^trellis\/demo-([a-z-]+)$/.exec(name);
  if (demo) {
    const app = demo[1]!;
    if (!DEMO_APPS.includes(app)) return { ok: false, reason: 'ErrImageNotMapped', message: `image ${image}: no demo app ${JSON.stringify(app)} (known: ${DEMO_APPS.join(', ')})` };
    return { ok: true, argv: [opts.node, join(opts.repoRoot, 'tools/demo/src', app, 'main.ts')] };
  }
  const component = /^trellis\/([a-z0-9-]+)$/.exec(name);
  if (component) {
    const bundle = join(opts.repoRoot, 'dist/apps', component[1]!, 'main.js');
    if (!exists(bundle)) {
      return { ok: false, reason: 'ErrImageNotBuilt', message: `image ${image} runs ${bundle}, which does not exist: run nx run @trellis/${component[1]}:build` };
    }
    return { ok: true, argv: [opts.node, bundle] };
  }
  // A shell image: the container's own command runs with the host's tools (sh, sleep, wget-like test helpers).
  if (/^(library\/)?busybox$/.test(name)) return { ok: true, argv: [] };
  return {
    ok: false,
    reason: 'ErrImageNotMapped',
    message: `image ${image} has no local command: this node runs trellis/<component>, trellis/demo-<app>, ${LINKERD_PROXY} and busybox images only`,
  };
}

/** The argv a container runs: entrypoint or `command`, then `args`. */
export function containerArgv(image: string, command: readonly string[] | undefined, args: readonly string[] | undefined, opts: ImageTableOptions): ImageResolution | ImageFailure {
  const entry = imageEntrypoint(image, opts);
  if (!entry.ok) return entry;
  const argv = [...(command && command.length > 0 ? command : entry.argv), ...(args ?? [])];
  if (argv.length === 0) return { ok: false, reason: 'CreateContainerConfigError', message: `image ${image} has no entrypoint: the container must set command` };
  return { ok: true, argv };
}
