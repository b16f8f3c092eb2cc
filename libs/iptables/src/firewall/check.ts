// Compares the table with what configureFirewall would write: every rule must be there (the kernel compares,
// through `iptables -C`), and our chains may hold nothing else. Returns the differences, one sentence each.
import type { ProxyInitConfig } from '../config/config.ts';
import { actualRuleCounts, checkRules, expectedRuleCounts } from '../rules/cleanup.ts';
import { saveNat, type ApplyDeps } from './apply.ts';
import { resolveBinaries } from './binaries.ts';

export async function checkFirewall(config: ProxyInitConfig, deps: ApplyDeps): Promise<string[]> {
  const resolve = deps.resolve ?? resolveBinaries;
  const drift: string[] = [];
  for (const family of config.ipv6 ? ([4, 6] as const) : ([4] as const)) {
    const binaries = resolve(config, family);
    const saved = await saveNat(deps, binaries, `check (IPv${family})`);
    for (const { check, comment } of checkRules(config, family)) {
      const res = await deps.runner.run([binaries.iptables, '-t', 'nat', ...(config.useWaitFlag ? ['-w'] : []), ...check.args]);
      if (res.code !== 0) drift.push(`IPv${family}: rule ${comment} is missing or changed`);
    }
    const actual = actualRuleCounts(saved);
    for (const [where, want] of expectedRuleCounts(config, family)) {
      const have = actual.get(where) ?? 0;
      if (have > want) drift.push(`IPv${family}: ${where} holds ${have} rules where ${want} belong`);
    }
  }
  return drift;
}
