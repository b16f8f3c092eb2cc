import { describe, expect, it } from 'vitest';
import { configFromArgs, INJECTOR_DEFAULT_ARGS } from '../config/from-args.ts';
import { actualRuleCounts, checkRules, cleanupRules, expectedRuleCounts } from './cleanup.ts';

// What iptables-save prints for the injector's defaults (apps/proxy-init/test/golden).
const SAVED = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:PROXY_INIT_OUTPUT - [0:0]
:PROXY_INIT_REDIRECT - [0:0]
-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT
-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT
-A OUTPUT -d 10.0.0.1/32 -j PROXY_INIT_OUTPUT_OLD
-A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -m comment --comment "proxy-init/ignore-proxy-user-id" -j RETURN
-A PROXY_INIT_OUTPUT -o lo -m comment --comment "proxy-init/ignore-loopback" -j RETURN
-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 4567,4568 -m comment --comment "proxy-init/ignore-port-4567,4568" -j RETURN
-A PROXY_INIT_OUTPUT -p tcp -m comment --comment "proxy-init/redirect-all-outgoing-to-proxy-port" -j REDIRECT --to-ports 4140
-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190,4191,4567,4568 -m comment --comment "proxy-init/ignore-port-4190,4191,4567,4568" -j RETURN
-A PROXY_INIT_REDIRECT -p tcp -m comment --comment "proxy-init/redirect-all-incoming-to-proxy-port" -j REDIRECT --to-ports 4143
COMMIT
`;
const config = configFromArgs(...INJECTOR_DEFAULT_ARGS);

describe('removing the rules', () => {
  it('deletes both jumps as saved, then flushes and deletes both chains, and leaves other chains alone', () => {
    expect(cleanupRules(SAVED).map((r) => r.args.join(' '))).toEqual([
      '-D PREROUTING -m comment --comment proxy-init/install-proxy-init-prerouting -j PROXY_INIT_REDIRECT',
      '-D OUTPUT -m comment --comment proxy-init/install-proxy-init-output -j PROXY_INIT_OUTPUT',
      '-F PROXY_INIT_REDIRECT',
      '-F PROXY_INIT_OUTPUT',
      '-X PROXY_INIT_REDIRECT',
      '-X PROXY_INIT_OUTPUT',
    ]);
  });

  it('has nothing to do on a table without our chains', () => {
    expect(cleanupRules('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n')).toEqual([]);
  });
});

describe('checking the rules', () => {
  it('checks every appended rule with -C and names it by its comment', () => {
    const checks = checkRules(config, 4);
    expect(checks).toHaveLength(8);
    expect(checks[0]?.check.args.slice(0, 2)).toEqual(['-C', 'PROXY_INIT_REDIRECT']);
    expect(checks.map((c) => c.comment)).toContain('proxy-init/redirect-all-outgoing-to-proxy-port');
  });

  it('counts the rules of our chains and the jumps into them the same way on both sides', () => {
    expect(actualRuleCounts(SAVED)).toEqual(expectedRuleCounts(config, 4));
    const extra = `${SAVED}-A PROXY_INIT_OUTPUT -p tcp -j RETURN\n`;
    expect(actualRuleCounts(extra).get('PROXY_INIT_OUTPUT')).toBe(5);
  });
});
