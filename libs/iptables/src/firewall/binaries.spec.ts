import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromArgs } from '../config/from-args.ts';
import { configuredBinaries, lookPath, resolveBinaries } from './binaries.ts';

const req = ['-p', '4143', '-o', '4140'];
const cfg = (...argv: string[]) => configFromArgs(...req, ...argv);
const installed =
  (...names: string[]) =>
  (name: string) =>
    names.includes(name) ? `/usr/sbin/${name}` : undefined;
const family = (base: string) => [base, `${base}-save`, `${base}-restore`];

describe('iptables binaries', () => {
  it('uses iptables-legacy when neither --iptables-mode nor --firewall-bin-path is given', () => {
    expect(configuredBinaries(cfg(), 4)).toEqual({ mode: 'legacy', iptables: 'iptables-legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' });
    expect(configuredBinaries(cfg(), 6)).toEqual({ mode: 'legacy', iptables: 'ip6tables-legacy', save: 'ip6tables-legacy-save', restore: 'ip6tables-legacy-restore' });
  });

  it.each([
    ['legacy', 'iptables-legacy', 'ip6tables-legacy'],
    ['nft', 'iptables-nft', 'ip6tables-nft'],
    ['plain', 'iptables', 'ip6tables'],
  ])('--iptables-mode %s selects %s and %s, overriding the bin paths', (mode, v4, v6) => {
    const c = cfg('--iptables-mode', mode, '--firewall-bin-path', '/opt/iptables', '--firewall-save-bin-path', '/opt/iptables-save');
    expect(configuredBinaries(c, 4)).toMatchObject({ iptables: v4, save: `${v4}-save`, restore: `${v4}-restore` });
    expect(configuredBinaries(c, 6)).toMatchObject({ iptables: v6, save: `${v6}-save` });
  });

  it.each([
    ['iptables-legacy', 'legacy'],
    ['iptables-nft', 'nft'],
    ['iptables', 'plain'],
  ])('--firewall-bin-path %s selects mode %s', (path, mode) => {
    expect(configuredBinaries(cfg('--firewall-bin-path', path), 4).mode).toBe(mode);
  });

  it('runs a custom path, its -save and -restore siblings, and its ip6tables sibling for IPv6', () => {
    const c = cfg('--firewall-bin-path', '/opt/xt/iptables-custom');
    expect(configuredBinaries(c, 4)).toEqual({ mode: 'custom', iptables: '/opt/xt/iptables-custom', save: '/opt/xt/iptables-custom-save', restore: '/opt/xt/iptables-custom-restore' });
    expect(configuredBinaries(c, 6)).toEqual({ mode: 'custom', iptables: '/opt/xt/ip6tables-custom', save: '/opt/xt/ip6tables-custom-save', restore: '/opt/xt/ip6tables-custom-restore' });
    expect(configuredBinaries(cfg('--firewall-bin-path', '/opt/xt/iptables-custom', '--firewall-save-bin-path', '/x/iptables-dump'), 6).save).toBe('/x/ip6tables-dump');
  });

  it('resolves the configured binaries to absolute paths when all three exist', () => {
    expect(resolveBinaries(cfg(), 4, installed(...family('iptables-legacy'), ...family('iptables-nft')))).toEqual({
      mode: 'legacy',
      iptables: '/usr/sbin/iptables-legacy',
      save: '/usr/sbin/iptables-legacy-save',
      restore: '/usr/sbin/iptables-legacy-restore',
    });
  });

  it('falls back to nft, then plain, then legacy when the configured binaries are missing', () => {
    const all = installed(...family('iptables-nft'), ...family('iptables'), ...family('iptables-legacy'));
    expect(resolveBinaries(cfg('--firewall-bin-path', '/nowhere/iptables'), 4, all).mode).toBe('nft');
    expect(resolveBinaries(cfg('--iptables-mode', 'legacy'), 4, installed(...family('iptables'), ...family('iptables-legacy'))).mode).toBe('legacy');
    expect(resolveBinaries(cfg('--iptables-mode', 'nft'), 4, installed(...family('iptables'), ...family('iptables-legacy'))).mode).toBe('plain');
    expect(resolveBinaries(cfg('--iptables-mode', 'plain'), 6, installed(...family('ip6tables-legacy'))).mode).toBe('legacy');
  });

  it('does not use a mode whose restore binary is missing', () => {
    expect(resolveBinaries(cfg(), 4, installed('iptables-legacy', 'iptables-legacy-save', ...family('iptables'))).mode).toBe('plain');
  });

  it('names what it looked for when nothing is installed', () => {
    expect(() => resolveBinaries(cfg('--iptables-mode', 'nft'), 6, installed())).toThrow(
      /no usable ip6tables binaries: ip6tables-nft, ip6tables-nft-save and ip6tables-nft-restore .* nft, plain, legacy/,
    );
  });

  it('finds executables on PATH, skips files that are not executable, and checks explicit paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-init-path-'));
    try {
      writeFileSync(join(dir, 'iptables-fake'), '#!/bin/sh\n', { mode: 0o755 });
      writeFileSync(join(dir, 'iptables-text'), 'not a program', { mode: 0o644 });
      expect(lookPath('iptables-fake', `/nonexistent:${dir}`)).toBe(join(dir, 'iptables-fake'));
      expect(lookPath('iptables-text', dir)).toBeUndefined();
      expect(lookPath('definitely-not-a-binary-4143', dir)).toBeUndefined();
      expect(lookPath(join(dir, 'iptables-fake'))).toBe(join(dir, 'iptables-fake'));
      expect(lookPath(join(dir, 'iptables-text'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
