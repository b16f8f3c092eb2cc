// Two renderings of one rule list: the iptables-restore input that applies it in one transaction, and the
// equivalent iptables command lines that Linkerd would run (what we log, and what --simulate prints).
import type { NatRule } from './rules.ts';

/** iptables-restore input for the nat table. Use with --noflush: only our chains and jumps change. */
export function restoreInput(rules: readonly NatRule[]): string {
  return ['*nat', ...rules.map((r) => r.args.join(' ')), 'COMMIT', ''].join('\n');
}

/** The line of restoreInput() that holds rule `index` (1-based, as iptables-restore counts). */
export const restoreLineOf = (index: number): number => index + 1;

export function commandLine(binary: string, rule: NatRule, useWaitFlag: boolean): string {
  return [binary, '-t', 'nat', ...rule.args, ...(useWaitFlag ? ['-w'] : [])].join(' ');
}
