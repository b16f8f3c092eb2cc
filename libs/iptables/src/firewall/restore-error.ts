// Maps an iptables-restore failure back to the rule that caused it. Pure.
import { restoreLineOf } from '../rules/render.ts';
import type { NatRule } from '../rules/rules.ts';

export interface RestoreFailure {
  /** The failing line of the restore input, when iptables-restore said which. */
  readonly line: number | undefined;
  /** 1-based position of the failing rule in the rule list. */
  readonly index: number | undefined;
  readonly rule: NatRule | undefined;
}

// legacy and nft report "Error occurred at line: N"; some paths say "line N failed".
const LINE_PATTERNS = [/Error occurred at line: (\d+)/, /line (\d+) failed/];

export function describeRestoreFailure(stderr: string, rules: readonly NatRule[]): RestoreFailure {
  for (const re of LINE_PATTERNS) {
    const m = re.exec(stderr);
    if (!m) continue;
    const line = Number(m[1]);
    const index = rules.findIndex((_, i) => restoreLineOf(i + 1) === line) + 1;
    return index > 0 ? { line, index, rule: rules[index - 1] } : { line, index: undefined, rule: undefined };
  }
  return { line: undefined, index: undefined, rule: undefined };
}

/** One sentence naming the failed rule, for the error message. */
export function restoreFailureMessage(binary: string, stderr: string, rules: readonly NatRule[]): string {
  const f = describeRestoreFailure(stderr, rules);
  const why = stderr.trim().split('\n')[0] ?? '';
  const what = f.rule
    ? `rule ${f.index} of ${rules.length} (line ${f.line}) failed: ${f.rule.args.join(' ')}`
    : f.line === 1 || f.line === rules.length + 2
      ? `the transaction failed at line ${f.line}`
      : 'the transaction failed';
  return `${binary} rejected the nat rules, nothing was changed; ${what} (${why || 'no error output'})`;
}
