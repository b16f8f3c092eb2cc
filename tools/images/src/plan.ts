// What a run builds, how it tags, and where it pushes: pure functions of the affected projects, the version, the
// commit and the environment, so CI behaviour is testable without buildah.
import { ConfigError } from '@trellis/config';
import { IMAGES } from './images.ts';

/** Projects whose change can alter every image (the base, the build recipe, the shared toolchain). */
const REBUILD_ALL = new Set(['@trellis/images', '@trellis/source']);

/**
 * The apps to build from `nx show projects --affected` output: an app's own project, or everything when the image
 * tooling itself changed. `only` narrows the result (CI's matrix builds one app per job).
 */
export function selectApps(affectedProjects: readonly string[], only: readonly string[] = []): string[] {
  const known = IMAGES.map((i) => i.app);
  for (const o of only) if (!known.includes(o)) throw new ConfigError(`--only: no image named ${JSON.stringify(o)} (images: ${known.join(', ')})`);
  const affected = new Set(affectedProjects);
  const all = affectedProjects.some((p) => REBUILD_ALL.has(p));
  const selected = known.filter((app) => all || affected.has(`@trellis/${app}`));
  return only.length > 0 ? selected.filter((a) => only.includes(a)) : selected;
}

/** `<version>` and `<version>-<short sha>`. */
export function tagsFor(version: string, commit: string): string[] {
  if (!/^[0-9a-f]{7,40}$/.test(commit)) throw new ConfigError(`commit ${JSON.stringify(commit)} is not a git commit id`);
  return [version, `${version}-${commit.slice(0, 7)}`];
}

export function localName(app: string): string {
  return `trellis/${app}`;
}

export interface PushTarget {
  readonly registry: string;
  readonly username: string;
  readonly password: string;
}

/**
 * Pushing needs a registry and credentials together. Both absent: a local build (not an error). One without the
 * other: a misconfigured CI, which must fail rather than silently skip the push.
 */
export function pushTarget(env: NodeJS.ProcessEnv): PushTarget | undefined {
  const registry = env['TRELLIS_IMAGE_REGISTRY']?.replace(/\/+$/, '') ?? '';
  const username = env['TRELLIS_REGISTRY_USERNAME'] ?? '';
  const password = env['TRELLIS_REGISTRY_PASSWORD'] ?? '';
  if (!registry && !username && !password) return undefined;
  if (!registry) throw new ConfigError('TRELLIS_REGISTRY_USERNAME/PASSWORD are set but TRELLIS_IMAGE_REGISTRY is empty: set the registry to push to');
  if (!username || !password) throw new ConfigError(`TRELLIS_IMAGE_REGISTRY=${registry} is set but TRELLIS_REGISTRY_USERNAME or TRELLIS_REGISTRY_PASSWORD is empty`);
  return { registry, username, password };
}

/** Where an image goes in the registry: <registry>/trellis/<app>:<tag>. */
export function remoteRef(target: PushTarget, app: string, tag: string): string {
  return `${target.registry}/${localName(app)}:${tag}`;
}

/** The registry host of a registry path (for `buildah login`). */
export function registryHost(registry: string): string {
  return registry.split('/')[0] ?? registry;
}
