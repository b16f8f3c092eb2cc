// The rules that undo what buildNatRules wrote (Linkerd's cleanup: delete the jumps, flush, then delete both
// chains), and the checks that tell whether a table still holds exactly what buildNatRules would write. Pure.
import type { ProxyInitConfig } from '../config/config.ts';
import { buildNatRules, EMPTY_NAT_STATE, OUTPUT_CHAIN, REDIRECT_CHAIN, type Family, type NatRule } from './rules.ts';

const OURS = [REDIRECT_CHAIN, OUTPUT_CHAIN] as const;

// iptables-save quotes comments that hold no spaces only sometimes; iptables-restore reads both forms.
const ruleArgs = (line: string): string[] => (line.match(/"[^"]*"|\S+/g) ?? []).map((t) => (t.startsWith('"') ? t.slice(1, -1) : t));

/** Each jump to our chains becomes a -D of the same rule, then each existing chain is flushed and deleted. */
export function cleanupRules(saveOutput: string): NatRule[] {
  const lines = saveOutput.split('\n');
  const jumps = lines.filter((l) => /^-A (PREROUTING|OUTPUT) /.test(l) && OURS.some((c) => new RegExp(`-j ${c}(?=\\s|$)`).test(l)));
  const chains = OURS.filter((c) => lines.some((l) => l.startsWith(`:${c} `)));
  return [
    ...jumps.map((l) => ({ args: ['-D', ...ruleArgs(l).slice(1)] })),
    ...chains.map((c) => ({ args: ['-F', c] })),
    ...chains.map((c) => ({ args: ['-X', c] })),
  ];
}

export interface RuleCheck {
  /** `-C ...`: iptables answers 0 when the kernel holds a rule equal to this one. */
  readonly check: NatRule;
  /** What the drift report says when it is missing. */
  readonly comment: string;
}

/** One `iptables -C` per rule buildNatRules appends, so the kernel itself compares them, whatever the save format. */
export function checkRules(config: ProxyInitConfig, family: Family): RuleCheck[] {
  return buildNatRules(config, family, EMPTY_NAT_STATE)
    .filter((r) => r.args[0] === '-A')
    .map((r) => ({ check: { args: ['-C', ...r.args.slice(1)] }, comment: r.args[r.args.indexOf('--comment') + 1] ?? r.args.join(' ') }));
}

/** How many rules each of our chains, and the jumps into them, should hold; extra rules are drift too. */
export function expectedRuleCounts(config: ProxyInitConfig, family: Family): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of buildNatRules(config, family, EMPTY_NAT_STATE).filter((x) => x.args[0] === '-A')) {
    const key = r.args[1] === REDIRECT_CHAIN || r.args[1] === OUTPUT_CHAIN ? (r.args[1] as string) : `${r.args[1]} -j ${r.args[r.args.indexOf('-j') + 1]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The same counts, read from iptables-save output. */
export function actualRuleCounts(saveOutput: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of saveOutput.split('\n')) {
    const chain = /^-A (\S+) /.exec(line)?.[1];
    if (!chain) continue;
    let key: string | undefined;
    if (chain === REDIRECT_CHAIN || chain === OUTPUT_CHAIN) key = chain;
    else {
      const target = OURS.find((c) => new RegExp(`-j ${c}(?=\\s|$)`).test(line));
      if (target) key = `${chain} -j ${target}`;
    }
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
