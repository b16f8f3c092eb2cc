import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '@trellis/telemetry';
import { configFromArgs, INJECTOR_DEFAULT_ARGS } from '../config/from-args.ts';
import { configureFirewall, setCloseWaitTimeout, simulate } from './apply.ts';
import { binariesFor } from './binaries.ts';
import { FirewallError } from './errors.ts';
import type { CommandResult, CommandRunner } from './exec.ts';

// A runner that records commands and answers from a script instead of touching iptables.
function fakeRunner(answer: (cmd: readonly string[], input?: string) => Partial<CommandResult> = () => ({})) {
  const calls: { cmd: string; input?: string }[] = [];
  const runner: CommandRunner = {
    argv: (cmd) => ['nsenter', '--net=/run/netns/pod', '--', ...cmd],
    run: async (cmd, input) => {
      calls.push({ cmd: cmd.join(' '), ...(input === undefined ? {} : { input }) });
      return { code: 0, stdout: '', stderr: '', ...answer(cmd, input) };
    },
  };
  return { runner, calls };
}
const logs = () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: createLogger({ name: 'proxy-init', format: 'json', level: 'debug', destination }) };
};
const resolve = (_c: unknown, family: 4 | 6) => binariesFor('legacy', family);
const config = configFromArgs(...INJECTOR_DEFAULT_ARGS);

describe('applying the rules', () => {
  it('reads both tables, tests both transactions, then commits and re-reads each family', async () => {
    const { runner, calls } = fakeRunner();
    const { log } = logs();
    await configureFirewall(config, { runner, log, resolve });
    expect(calls.map((c) => c.cmd)).toEqual([
      'iptables-legacy-save -t nat',
      'ip6tables-legacy-save -t nat',
      'iptables-legacy-restore --noflush --test',
      'ip6tables-legacy-restore --noflush --test',
      'iptables-legacy-restore --noflush',
      'iptables-legacy-save -t nat',
      'ip6tables-legacy-restore --noflush',
      'ip6tables-legacy-save -t nat',
    ]);
    expect(calls[4]?.input).toMatch(/^\*nat\n-N PROXY_INIT_REDIRECT\n[\s\S]*-A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init\/install-proxy-init-output\nCOMMIT\n$/);
  });

  it('programs only IPv4 with --ipv6=false and passes -w to iptables-restore', async () => {
    const { runner, calls } = fakeRunner();
    await configureFirewall(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--ipv6=false', '-w'), { runner, log: logs().log, resolve });
    expect(calls.map((c) => c.cmd)).toEqual(['iptables-legacy-save -t nat', 'iptables-legacy-restore -w --noflush --test', 'iptables-legacy-restore -w --noflush', 'iptables-legacy-save -t nat']);
  });

  it('flushes and reuses what an earlier run installed', async () => {
    const saved = ':PROXY_INIT_REDIRECT - [0:0]\n:PROXY_INIT_OUTPUT - [0:0]\n-A PREROUTING -m comment --comment "x" -j PROXY_INIT_REDIRECT\n-A OUTPUT -j PROXY_INIT_OUTPUT\n';
    const { runner, calls } = fakeRunner((cmd) => (cmd[0]?.endsWith('-save') ? { stdout: saved } : {}));
    await configureFirewall(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--ipv6=false'), { runner, log: logs().log, resolve });
    const input = calls.find((c) => c.input)?.input ?? '';
    expect(input).toContain('-F PROXY_INIT_REDIRECT\n');
    expect(input).toContain('-F PROXY_INIT_OUTPUT\n');
    expect(input).not.toContain('-A PREROUTING');
    expect(input).not.toContain('-A OUTPUT');
  });

  it('stops before committing anything when a test transaction fails, naming the rule', async () => {
    const { runner, calls } = fakeRunner((cmd) =>
      cmd[0] === 'ip6tables-legacy-restore' ? { code: 1, stderr: 'ip6tables-restore v1.8.9 (legacy): oops\nError occurred at line: 3\n' } : {},
    );
    const err = await configureFirewall(config, { runner, log: logs().log, resolve }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FirewallError);
    expect((err as FirewallError).code).toBe('TRELLIS_ERR_FIREWALL_RESTORE');
    expect((err as Error).message).toContain('rule 2 of 10 (line 3) failed: -A PROXY_INIT_REDIRECT -p tcp --match multiport --dports 4190,4191,4567,4568');
    expect(calls.filter((c) => c.cmd.endsWith('--noflush'))).toEqual([]);
  });

  it('logs the table again after a rejected commit and reports the failure', async () => {
    const { runner, calls } = fakeRunner((cmd) =>
      cmd.join(' ') === 'iptables-legacy-restore --noflush' ? { code: 2, stderr: 'iptables-restore: unknown option\nError occurred at line: 11\n' } : {},
    );
    const { lines, log } = logs();
    await expect(configureFirewall(config, { runner, log, resolve })).rejects.toThrow(/nothing was changed; rule 10 of 10 \(line 11\) failed: -A OUTPUT .*install-proxy-init-output/);
    expect(calls.at(-1)?.cmd).toBe('iptables-legacy-save -t nat');
    expect(lines.some((l) => JSON.parse(l).level === 'error')).toBe(true);
  });

  it('fails clearly when iptables-save fails', async () => {
    const { runner } = fakeRunner(() => ({ code: 3, stderr: "can't initialize iptables table `nat'" }));
    await expect(configureFirewall(config, { runner, log: logs().log, resolve })).rejects.toMatchObject({
      code: 'TRELLIS_ERR_FIREWALL_COMMAND',
      message: expect.stringContaining("iptables-legacy-save -t nat exited 3: can't initialize"),
    });
  });

  it('--simulate logs every command, in the namespace, and runs nothing', () => {
    const { runner, calls } = fakeRunner();
    const { lines, log } = logs();
    const plans = simulate(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--timeout-close-wait-secs', '30'), { runner, log });
    expect(calls).toEqual([]);
    expect(plans.map((p) => p.family)).toEqual([4, 6]);
    const msgs = lines.map((l) => JSON.parse(l).msg as string);
    expect(msgs[0]).toBe('nsenter --net=/run/netns/pod -- sysctl -w net.netfilter.nf_conntrack_tcp_timeout_close_wait=30');
    expect(msgs[1]).toBe('nsenter --net=/run/netns/pod -- iptables-legacy-save -t nat');
    expect(msgs[2]).toBe('nsenter --net=/run/netns/pod -- iptables-legacy -t nat -N PROXY_INIT_REDIRECT');
    expect(msgs).toContain('nsenter --net=/run/netns/pod -- ip6tables-legacy-restore --noflush');
    expect(msgs.filter((m) => m.includes(' -t nat -A '))).toHaveLength(16);
  });

  it('sets the conntrack close-wait timeout only when asked', async () => {
    const { runner, calls } = fakeRunner();
    await setCloseWaitTimeout(config, { runner, log: logs().log });
    expect(calls).toEqual([]);
    await setCloseWaitTimeout(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--timeout-close-wait-secs', '30'), { runner, log: logs().log });
    expect(calls).toEqual([{ cmd: 'sysctl -w net.netfilter.nf_conntrack_tcp_timeout_close_wait=30' }]);
    const failing = fakeRunner(() => ({ code: 255, stderr: 'permission denied' }));
    await expect(setCloseWaitTimeout(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--timeout-close-wait-secs', '5'), { runner: failing.runner, log: logs().log })).rejects.toThrow(
      /sysctl -w .*=5 exited 255: permission denied/,
    );
  });
});
