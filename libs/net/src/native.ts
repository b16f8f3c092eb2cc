// Finds and loads the compiled addon (build/Release/trellis_net.node, built by scripts/build-addon.mjs).
// Apps are esbuild bundles with `*.node` kept external, so a path relative to this file would point into
// dist/ once bundled. Instead the addon is found, in order, at:
//   1. $TRELLIS_NET_ADDON (an image that copies the .node file somewhere of its own),
//   2. the package export `@trellis/net/build/Release/trellis_net.node`, resolved from wherever this code runs
//      (works from source and from a bundle, as long as node_modules/@trellis/net is reachable),
//   3. ../build/Release/trellis_net.node next to this source file (the package used in place).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeAddonMissingError } from './errors.ts';

export type NativeResult = { address: string; port: number } | number;

export interface NativeAddon {
  originalDst4(fd: number): NativeResult;
  originalDst6(fd: number): NativeResult;
}

const ADDON = 'build/Release/trellis_net.node';

export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  const fromEnv = env['TRELLIS_NET_ADDON'];
  if (fromEnv) candidates.push(fromEnv);
  try {
    candidates.push(createRequire(import.meta.url).resolve(`@trellis/net/${ADDON}`));
  } catch {
    // not resolvable as a package from here; the next candidate may still exist
  }
  candidates.push(fileURLToPath(new URL(`../${ADDON}`, import.meta.url)));
  return [...new Set(candidates)];
}

let loaded: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  let firstError: unknown;
  for (const path of addonCandidates()) {
    try {
      loaded = require(path) as NativeAddon;
      return loaded;
    } catch (err) {
      firstError ??= err;
      errors.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeAddonMissingError(
    `the @trellis/net native addon could not be loaded (${errors.join('; ')}); build it with \`npm run build:addon -w libs/net\` or set TRELLIS_NET_ADDON`,
    firstError,
  );
}
