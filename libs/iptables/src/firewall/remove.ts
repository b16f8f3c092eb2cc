// Undoes configureFirewall in one iptables-restore transaction per family: the jumps go, then both chains.
// A family whose table holds none of our chains is left alone, so removing twice is harmless.
import type { ProxyInitConfig } from '../config/config.ts';
import { restoreInput } from '../rules/render.ts';
import { cleanupRules } from '../rules/cleanup.ts';
import type { Family } from '../rules/rules.ts';
import { saveNat, type ApplyDeps } from './apply.ts';
import { resolveBinaries } from './binaries.ts';
import { restoreRejected } from './errors.ts';
import { restoreFailureMessage } from './restore-error.ts';

/** Removes our rules from every family the config names; returns the families that held some. */
export async function removeFirewall(config: ProxyInitConfig, deps: ApplyDeps): Promise<Family[]> {
  const resolve = deps.resolve ?? resolveBinaries;
  const changed: Family[] = [];
  for (const family of config.ipv6 ? ([4, 6] as const) : ([4] as const)) {
    const binaries = resolve(config, family);
    const rules = cleanupRules(await saveNat(deps, binaries, `before removal (IPv${family})`));
    if (rules.length === 0) continue;
    const cmd = [binaries.restore, ...(config.useWaitFlag ? ['-w'] : []), '--noflush'];
    const res = await deps.runner.run(cmd, restoreInput(rules));
    if (res.code !== 0) throw restoreRejected(restoreFailureMessage(binaries.restore, res.stderr, rules));
    deps.log.info({ family }, `removed the proxy-init chains and jumps (IPv${family})`);
    changed.push(family);
  }
  return changed;
}
