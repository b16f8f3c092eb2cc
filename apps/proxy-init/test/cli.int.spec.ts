// The command line as a user meets it: a real child process, no root needed.
import { describe, expect, it } from 'vitest';
import { proxyInit } from './netns.ts';

const FLAGS = [
  '-p, --incoming-proxy-port',
  '-o, --outgoing-proxy-port',
  '-u, --proxy-uid',
  '-g, --proxy-gid',
  '-r, --ports-to-redirect',
  '--inbound-ports-to-ignore',
  '--outbound-ports-to-ignore',
  '--subnets-to-ignore',
  '--simulate',
  '--netns',
  '-w, --use-wait-flag',
  '--timeout-close-wait-secs',
  '--log-format',
  '--log-level',
  '--iptables-mode',
  '--ipv6',
  '--firewall-bin-path',
  '--firewall-save-bin-path',
];

describe('proxy-init command line', () => {
  it("lists every Linkerd flag in --help with the defaults", async () => {
    const res = await proxyInit('--help');
    expect(res.code).toBe(0);
    for (const flag of FLAGS) expect(res.stdout).toContain(flag);
    expect(res.stdout).toMatch(/--ipv6 +Also program ip6tables, for dual-stack pods \(default true\)/);
    expect(res.stdout).toMatch(/--log-format FORMAT +Log format: 'plain' or 'json' \(default plain\)/);
  });

  it('exits 1 naming a missing required port', async () => {
    const res = await proxyInit('--outgoing-proxy-port', '4140');
    expect(res).toEqual({ code: 1, stdout: '', stderr: 'proxy-init: invalid value "-1" for --incoming-proxy-port: a TCP port from 1 to 65535 is required\n' });
  });

  it('prints the rules in simulate mode without needing root or iptables', async () => {
    const res = await proxyInit('--simulate', '--ipv6=false', '-p', '4143', '-o', '4140', '--log-format', 'json');
    expect(res.code).toBe(0);
    const msgs = res.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs[0]).toBe('iptables-legacy-save -t nat');
    expect(msgs.at(-1)).toBe('iptables-legacy-restore --noflush');
  });
});
