// Turns parsed flags into one frozen, typed configuration. Every check names the flag and the bad value.
import { ConfigError, parseCidr, parseEnum, parseInteger, parsePortRanges, type FlagValue, type PortRange } from '@trellis/config';

export type IptablesMode = 'legacy' | 'nft' | 'plain';
export type LogFormat = 'plain' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
/** Inbound: redirect every port, or only --ports-to-redirect. */
export type RedirectMode = 'redirect-all' | 'redirect-listed';

export interface SubnetToIgnore {
  /** The CIDR as the user wrote it (trimmed): it is written into the rule and its comment unchanged. */
  readonly cidr: string;
  readonly family: 4 | 6;
}

export interface ProxyInitConfig {
  readonly incomingProxyPort: number;
  readonly outgoingProxyPort: number;
  readonly proxyUid: number;
  readonly proxyGid: number;
  readonly redirectMode: RedirectMode;
  readonly portsToRedirect: readonly number[];
  readonly inboundPortsToIgnore: readonly PortRange[];
  readonly outboundPortsToIgnore: readonly PortRange[];
  readonly subnetsToIgnore: readonly SubnetToIgnore[];
  readonly simulate: boolean;
  readonly netns: string;
  readonly useWaitFlag: boolean;
  readonly timeoutCloseWaitSecs: number;
  readonly logFormat: LogFormat;
  readonly logLevel: LogLevel;
  /** undefined when --iptables-mode is not given: then --firewall-bin-path decides. */
  readonly iptablesMode: IptablesMode | undefined;
  readonly ipv6: boolean;
  readonly firewallBinPath: string;
  readonly firewallSaveBinPath: string;
}

type Values = Readonly<Record<string, FlagValue | undefined>>;

/** How an error names a setting: proxy-init names its flag; the CNI plugin names its configuration key. */
export type SettingLabel = (name: string) => string;
const flagLabel: SettingLabel = (name) => `--${name}`;

const str = (values: Values, name: string): string => {
  const v = values[name];
  return typeof v === 'string' ? v : '';
};
const list = (values: Values, name: string): readonly string[] => {
  const v = values[name];
  return Array.isArray(v) ? v : [];
};
const bool = (values: Values, name: string): boolean => values[name] === true;

// The largest id the kernel accepts in an owner match; (uid_t)-1 means "no id".
const MAX_ID = 4_294_967_294;

function requiredPort(values: Values, name: string, label: SettingLabel): number {
  const raw = str(values, name).trim();
  const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${label(name)}: a TCP port from 1 to 65535 is required`);
  }
  return n;
}

function portRanges(values: Values, name: string, label: SettingLabel): PortRange[] {
  return list(values, name).flatMap((item) => parsePortRanges(label(name), item));
}

function subnets(values: Values, label: SettingLabel): SubnetToIgnore[] {
  return list(values, 'subnets-to-ignore').map((item) => {
    const cidr = item.trim();
    const invalid = () => new ConfigError(`invalid value ${JSON.stringify(cidr)} for ${label('subnets-to-ignore')}: expected a CIDR such as 10.0.0.0/8`);
    // Go's net.ParseCIDR, which Linkerd uses, insists on the /prefix; so do we.
    if (!cidr.includes('/')) throw invalid();
    try {
      return { cidr, family: parseCidr('--subnets-to-ignore', cidr).family };
    } catch {
      throw invalid();
    }
  });
}

const LOG_LEVELS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
};

function logLevel(values: Values, label: SettingLabel): LogLevel {
  const raw = str(values, 'log-level');
  const level = LOG_LEVELS[raw.trim().toLowerCase()];
  if (!level) throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${label('log-level')}: expected one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  return level;
}

export function parseProxyInitConfig(values: Values, label: SettingLabel = flagLabel): ProxyInitConfig {
  const mode = str(values, 'iptables-mode');
  const portsToRedirect = list(values, 'ports-to-redirect').map((p) => parseInteger(label('ports-to-redirect'), p, 1, 65535));
  return Object.freeze({
    incomingProxyPort: requiredPort(values, 'incoming-proxy-port', label),
    outgoingProxyPort: requiredPort(values, 'outgoing-proxy-port', label),
    proxyUid: parseInteger(label('proxy-uid'), str(values, 'proxy-uid'), Number.MIN_SAFE_INTEGER, MAX_ID),
    proxyGid: parseInteger(label('proxy-gid'), str(values, 'proxy-gid'), Number.MIN_SAFE_INTEGER, MAX_ID),
    redirectMode: portsToRedirect.length > 0 ? 'redirect-listed' : 'redirect-all',
    portsToRedirect: Object.freeze(portsToRedirect),
    inboundPortsToIgnore: Object.freeze(portRanges(values, 'inbound-ports-to-ignore', label)),
    outboundPortsToIgnore: Object.freeze(portRanges(values, 'outbound-ports-to-ignore', label)),
    subnetsToIgnore: Object.freeze(subnets(values, label)),
    simulate: bool(values, 'simulate'),
    netns: str(values, 'netns').trim(),
    useWaitFlag: bool(values, 'use-wait-flag'),
    timeoutCloseWaitSecs: parseInteger(label('timeout-close-wait-secs'), str(values, 'timeout-close-wait-secs'), 0, 2_147_483_647),
    logFormat: parseEnum(label('log-format'), str(values, 'log-format'), ['plain', 'json'] as const),
    logLevel: logLevel(values, label),
    iptablesMode: mode === '' ? undefined : parseEnum(label('iptables-mode'), mode, ['legacy', 'nft', 'plain'] as const),
    ipv6: values['ipv6'] !== false,
    firewallBinPath: str(values, 'firewall-bin-path').trim(),
    firewallSaveBinPath: str(values, 'firewall-save-bin-path').trim(),
  });
}
