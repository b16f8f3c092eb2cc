// Which iptables binaries to run, per address family. Modes and fallback order follow Linkerd's proxy-init
// (linkerd-contracts.md §6.1): --iptables-mode wins; otherwise --firewall-bin-path names the mode (empty means
// legacy) or is a path of its own; when the configured binaries are missing, try nft, then plain, then legacy.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { IptablesMode, ProxyInitConfig } from '../config/config.ts';
import type { Family } from '../rules/rules.ts';
import { binaryMissing } from './errors.ts';

export interface FirewallBinaries {
  readonly mode: IptablesMode | 'custom';
  readonly iptables: string;
  readonly save: string;
  readonly restore: string;
}

const BASE: Record<IptablesMode, Record<Family, string>> = {
  legacy: { 4: 'iptables-legacy', 6: 'ip6tables-legacy' },
  nft: { 4: 'iptables-nft', 6: 'ip6tables-nft' },
  plain: { 4: 'iptables', 6: 'ip6tables' },
};

export const FALLBACK_ORDER: readonly IptablesMode[] = ['nft', 'plain', 'legacy'];

export function binariesFor(mode: IptablesMode, family: Family): FirewallBinaries {
  const base = BASE[mode][family];
  return { mode, iptables: base, save: `${base}-save`, restore: `${base}-restore` };
}

const MODE_BY_BIN_PATH: Record<string, IptablesMode> = { '': 'legacy', 'iptables-legacy': 'legacy', 'iptables-nft': 'nft', iptables: 'plain' };

// A custom iptables path serves IPv6 through its ip6tables sibling (…/iptables-foo → …/ip6tables-foo).
const forFamily = (path: string, family: Family) => (family === 6 ? path.replace(/iptables(?!.*\/)/, 'ip6tables') : path);

/** The binaries the flags ask for, before any existence check. Pure. */
export function configuredBinaries(config: Pick<ProxyInitConfig, 'iptablesMode' | 'firewallBinPath' | 'firewallSaveBinPath'>, family: Family): FirewallBinaries {
  if (config.iptablesMode) return binariesFor(config.iptablesMode, family);
  const named = MODE_BY_BIN_PATH[config.firewallBinPath];
  const chosen: FirewallBinaries = named
    ? binariesFor(named, family)
    : (() => {
        const iptables = forFamily(config.firewallBinPath, family);
        return { mode: 'custom', iptables, save: `${iptables}-save`, restore: `${iptables}-restore` };
      })();
  return config.firewallSaveBinPath ? { ...chosen, save: forFamily(config.firewallSaveBinPath, family) } : chosen;
}

/** Finds an executable the way a shell would; iptables lives in sbin, which some PATHs leave out. */
export function lookPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return executable(name) ? name : undefined;
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return dirs.map((d) => join(d, name)).find(executable);
}

/**
 * The configured binaries if all three (iptables, -save, -restore) exist, else the first complete fallback,
 * with absolute paths. Throws naming what was looked for when nothing fits.
 */
export function resolveBinaries(
  config: Pick<ProxyInitConfig, 'iptablesMode' | 'firewallBinPath' | 'firewallSaveBinPath'>,
  family: Family,
  find: (name: string) => string | undefined = lookPath,
): FirewallBinaries {
  const candidates = [configuredBinaries(config, family), ...FALLBACK_ORDER.map((m) => binariesFor(m, family))];
  for (const c of candidates) {
    const iptables = find(c.iptables);
    const save = find(c.save);
    const restore = find(c.restore);
    if (iptables && save && restore) return { mode: c.mode, iptables, save, restore };
  }
  const wanted = candidates[0] as FirewallBinaries;
  throw binaryMissing(
    `no usable ${family === 4 ? 'iptables' : 'ip6tables'} binaries: ${wanted.iptables}, ${wanted.save} and ${wanted.restore} are not all installed, ` +
      `nor are those of the fallback modes ${FALLBACK_ORDER.join(', ')}`,
  );
}
