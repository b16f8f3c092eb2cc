import { describe, expect, it } from 'vitest';
import { buildNatRules } from '../rules/rules.ts';
import { configFromArgs, INJECTOR_DEFAULT_ARGS } from '../config/from-args.ts';
import { describeRestoreFailure, restoreFailureMessage } from './restore-error.ts';

const rules = buildNatRules(configFromArgs(...INJECTOR_DEFAULT_ARGS), 4);

describe('iptables-restore failures', () => {
  it('finds the rule from the line iptables-restore names (legacy and nft wording)', () => {
    const stderr = 'iptables-restore v1.8.9 (legacy): unknown option "--bogus"\nError occurred at line: 10\nTry `iptables-restore -h\' for more information.\n';
    expect(describeRestoreFailure(stderr, rules)).toEqual({ line: 10, index: 9, rule: rules[8] });
    expect(describeRestoreFailure('ip6tables-restore: line 2 failed\n', rules)).toMatchObject({ line: 2, index: 1 });
  });

  it('names the failed rule as an iptables command in the message', () => {
    const msg = restoreFailureMessage('/usr/sbin/iptables-legacy-restore', 'iptables-restore v1.8.9 (legacy): unknown option "--bogus"\nError occurred at line: 11\n', rules);
    expect(msg).toBe(
      '/usr/sbin/iptables-legacy-restore rejected the nat rules, nothing was changed; rule 10 of 10 (line 11) failed: ' +
        '-A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output ' +
        '(iptables-restore v1.8.9 (legacy): unknown option "--bogus")',
    );
  });

  it('still explains a failure that names no rule', () => {
    expect(restoreFailureMessage('iptables-restore', 'iptables-restore: line 12 failed\n', rules)).toContain('the transaction failed at line 12');
    expect(restoreFailureMessage('iptables-restore', 'Killed\n', rules)).toContain('the transaction failed (Killed)');
    expect(restoreFailureMessage('iptables-restore', '', rules)).toContain('(no error output)');
  });
});
