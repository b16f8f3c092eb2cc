// proxy-init against the real iptables in fresh network namespaces: the golden nat table, convergence on
// re-runs, --simulate, the conntrack sysctl, and a rejected transaction that leaves the table as it was.
// Needs root. Refresh the golden file with UPDATE_GOLDEN=1.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { INJECTOR_DEFAULT_ARGS } from '@trellis/iptables';
import { addNetns, must, natTable, proxyInit, removeNetns, uniqueName } from './netns.ts';

const GOLDEN = fileURLToPath(new URL('./golden/nat-injector-defaults.iptables-save', import.meta.url));
const created: string[] = [];
const tempDirs: string[] = [];

async function freshNetns(what: string): Promise<{ name: string; path: string }> {
  const name = uniqueName(what);
  created.push(name);
  return { name, path: await addNetns(name) };
}

afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
  await removeNetns(...created);
});

async function expectGolden(actual: string): Promise<void> {
  if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(GOLDEN, actual);
  expect(actual).toBe(await readFile(GOLDEN, 'utf8'));
}

const EMPTY_NAT = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';

// plain runs the distribution's iptables/ip6tables, whichever backend they link to (nft on Debian 12).
describe.each([
  ['legacy (the default)', [], 'legacy', 'iptables-legacy-save', 'ip6tables-legacy-save'],
  ['nft', ['--iptables-mode', 'nft'], 'nft', 'iptables-nft-save', 'ip6tables-nft-save'],
  ['plain', ['--iptables-mode', 'plain'], 'plain', 'iptables-save', 'ip6tables-save'],
] as const)('proxy-init with iptables %s', (_name, modeArgs, mode, save4, save6) => {
  it("writes the golden nat table for the injector's default arguments, for IPv4 and IPv6, and a re-run changes nothing", async () => {
    const ns = await freshNetns(mode);
    const first = await proxyInit('--netns', ns.path, ...modeArgs, ...INJECTOR_DEFAULT_ARGS);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const v4 = await natTable(ns.name, save4);
    await expectGolden(v4);
    expect(await natTable(ns.name, save6)).toBe(v4);

    const second = await proxyInit('--netns', ns.path, ...modeArgs, ...INJECTOR_DEFAULT_ARGS);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain(' -t nat -F PROXY_INIT_REDIRECT');
    expect(await natTable(ns.name, save4)).toBe(v4);
    expect(await natTable(ns.name, save6)).toBe(v4);
  });
});

describe('proxy-init in a namespace', () => {
  it('logs the nat table before and after, as JSON when asked', async () => {
    const ns = await freshNetns('log');
    const res = await proxyInit('--netns', ns.path, '--log-format', 'json', '--ipv6=false', ...INJECTOR_DEFAULT_ARGS);
    expect(res.code).toBe(0);
    const entries = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string; stage?: string });
    expect(entries.map((e) => e.stage).filter(Boolean)).toEqual(['before (IPv4)', 'after (IPv4)']);
    expect(entries.find((e) => e.stage === 'after (IPv4)')?.msg).toContain('-j REDIRECT --to-ports 4140');
    expect(entries.every((e) => e.level === 'info')).toBe(true);
  });

  it('--simulate prints the commands and changes nothing', async () => {
    const ns = await freshNetns('simulate');
    const res = await proxyInit('--netns', ns.path, '--simulate', '--timeout-close-wait-secs', '7', ...INJECTOR_DEFAULT_ARGS);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`nsenter --net=${ns.path} -- iptables-legacy -t nat -A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output`);
    expect(res.stdout).toContain('sysctl -w net.netfilter.nf_conntrack_tcp_timeout_close_wait=7');
    expect(await natTable(ns.name, 'iptables-legacy-save')).toBe(EMPTY_NAT);
    expect(await natTable(ns.name, 'ip6tables-legacy-save')).toBe(EMPTY_NAT);
    expect((await must('ip', 'netns', 'exec', ns.name, 'sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_timeout_close_wait')).trim()).not.toBe('7');
  });

  it('--timeout-close-wait-secs sets the conntrack sysctl in the namespace', async () => {
    const ns = await freshNetns('sysctl');
    const res = await proxyInit('--netns', ns.path, '--timeout-close-wait-secs', '17', ...INJECTOR_DEFAULT_ARGS);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect((await must('ip', 'netns', 'exec', ns.name, 'sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_timeout_close_wait')).trim()).toBe('17');
  });

  it('exits 1 naming the flag and value for invalid input, before touching the table', async () => {
    const ns = await freshNetns('invalid');
    const res = await proxyInit('--netns', ns.path, '--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--inbound-ports-to-ignore', '4190,41x');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('proxy-init: invalid value "41x" for --inbound-ports-to-ignore: "41x" is not a port or a range a-b\n');
    expect(await natTable(ns.name, 'iptables-legacy-save')).toBe(EMPTY_NAT);
  });
});

describe('every rule form', () => {
  it('is accepted by the kernel in both families: gid, listed ports, subnets, chunked ports and ranges', async () => {
    const ns = await freshNetns('forms');
    const ports = Array.from({ length: 20 }, (_, i) => String(20000 + i));
    const res = await proxyInit(
      '--netns',
      ns.path,
      ...['-p', '4143', '-o', '4140', '-u', '2102', '-g', '2102', '-r', '80,443', '-r', '8080'],
      ...['--inbound-ports-to-ignore', [...ports, '30000-30100', '4190'].join(',')],
      ...['--outbound-ports-to-ignore', '6000-6010,6020-6030,6040-6050,6060-6070,6080-6090,6100-6110,6120-6130,6140-6150'],
      ...['--subnets-to-ignore', '10.96.0.0/12,fd00:96::/108'],
    );
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const v4 = await natTable(ns.name, 'iptables-legacy-save');
    const v6 = await natTable(ns.name, 'ip6tables-legacy-save');
    for (const table of [v4, v6]) {
      expect(table.match(/-m multiport --dports/g)).toHaveLength(4);
      expect(table).toContain(`--dports ${ports.slice(0, 15).join(',')} `);
      expect(table).toContain('--dports 20015,20016,20017,20018,20019,30000:30100,4190 ');
      expect(table).toContain('--dports 6000:6010,6020:6030,6040:6050,6060:6070,6080:6090,6100:6110,6120:6130 ');
      expect(table).toContain('--dports 6140:6150 ');
      expect(table).toContain('-m owner --gid-owner 2102 -m comment --comment "proxy-init/ignore-proxy-group-id" -j RETURN');
      expect(table.match(/proxy-init\/redirect-port-(80|443|8080)-to-proxy-port/g)).toHaveLength(3);
      expect(table).not.toContain('redirect-all-incoming');
    }
    expect(v4).toContain('-A PROXY_INIT_REDIRECT -s 10.96.0.0/12 -m comment --comment "proxy-init/ignore-subnet-10.96.0.0/12" -j RETURN');
    expect(v4).not.toContain('fd00:96::');
    expect(v6).toContain('-A PROXY_INIT_REDIRECT -s fd00:96::/108 -m comment --comment "proxy-init/ignore-subnet-fd00:96::/108" -j RETURN');
    expect(v6).not.toContain('10.96.0.0');
  });
});

describe('a rejected transaction', () => {
  // Binaries named as fakes: they hand everything to the real legacy binaries, except that the committing
  // iptables-restore (not the --test pre-flight) gets its last rule corrupted, so the kernel-facing commit
  // itself fails after every other rule of the transaction was accepted by the parser.
  async function fakeBinaries(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'proxy-init-fake-'));
    tempDirs.push(dir);
    for (const ip of ['iptables', 'ip6tables']) {
      await writeFile(join(dir, `${ip}-fake`), `#!/bin/sh\nexec ${ip}-legacy "$@"\n`);
      await writeFile(join(dir, `${ip}-fake-save`), `#!/bin/sh\nexec ${ip}-legacy-save "$@"\n`);
      const restore = `${ip}-legacy-restore`;
      await writeFile(
        join(dir, `${ip}-fake-restore`),
        `#!/bin/sh
# A fake iptables-restore for tests: corrupts the last -A rule of a committing transaction.
case " $* " in *" --test "*) exec ${restore} "$@";; esac
input=$(cat)
last=$(printf '%s\\n' "$input" | grep -n '^-A ' | tail -1 | cut -d: -f1)
printf '%s\\n' "$input" | sed "\${last}s/\\$/ --fake-option-from-test/" | exec ${restore} "$@"
`,
      );
    }
    await Promise.all(['', '-save', '-restore'].flatMap((s) => ['iptables', 'ip6tables'].map((ip) => chmod(join(dir, `${ip}-fake${s}`), 0o755))));
    return join(dir, 'iptables-fake');
  }

  it('leaves an empty table empty, exits non-zero and names the rule', async () => {
    const ns = await freshNetns('fail-empty');
    const bin = await fakeBinaries();
    const res = await proxyInit('--netns', ns.path, '--firewall-bin-path', bin, ...INJECTOR_DEFAULT_ARGS);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(
      'rejected the nat rules, nothing was changed; rule 10 of 10 (line 11) failed: -A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output',
    );
    expect(res.stdout).toContain('unknown option \\"--fake-option-from-test\\"');
    expect(await natTable(ns.name, 'iptables-legacy-save')).toBe(EMPTY_NAT);
    expect(await natTable(ns.name, 'ip6tables-legacy-save')).toBe(EMPTY_NAT);
  });

  it('leaves the rules of an earlier run exactly as they were', async () => {
    const ns = await freshNetns('fail-rerun');
    expect((await proxyInit('--netns', ns.path, ...INJECTOR_DEFAULT_ARGS)).code).toBe(0);
    const before = await natTable(ns.name, 'iptables-legacy-save');
    const bin = await fakeBinaries();
    const res = await proxyInit('--netns', ns.path, '--firewall-bin-path', bin, '-u', '2103', ...INJECTOR_DEFAULT_ARGS.slice(0, 4), '--ipv6=false');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('rule 6 of 6 (line 7) failed: -A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-port 4140');
    expect(await natTable(ns.name, 'iptables-legacy-save')).toBe(before);
  });
});
