// The network configuration on stdin (spec 1.0, "Network configuration"), with the keys Linkerd's plugin reads:
// `log_level`, `kubernetes.kubeconfig` and the `linkerd` section of proxy-init settings. Anything malformed is
// refused with an error that names the key and the value. Pure.
import { CNI_ERR, CniError } from './errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The `linkerd` section, with proxy-init's flag names as keys (Linkerd's conflist). */
export interface RedirectSettings {
  readonly 'incoming-proxy-port': number;
  readonly 'outgoing-proxy-port': number;
  readonly 'proxy-uid': number;
  readonly 'proxy-gid': number;
  readonly 'ports-to-redirect': readonly number[];
  readonly 'inbound-ports-to-ignore': readonly string[];
  readonly 'outbound-ports-to-ignore': readonly string[];
  readonly 'subnets-to-ignore': readonly string[];
  readonly simulate: boolean;
  readonly 'use-wait-flag': boolean;
  readonly 'iptables-mode': string;
  readonly ipv6: boolean;
}

export interface NetConf {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly logLevel: LogLevel;
  readonly kubeconfig: string;
  readonly redirect: RedirectSettings;
  /** The previous plugin's result, passed through unchanged by ADD. */
  readonly prevResult: Record<string, unknown> | undefined;
}

// Linkerd's defaults: the proxy's ports and uid; no IPv6; iptables-legacy unless the conflist says otherwise.
const DEFAULTS: RedirectSettings = {
  'incoming-proxy-port': 4143,
  'outgoing-proxy-port': 4140,
  'proxy-uid': 2102,
  'proxy-gid': -1,
  'ports-to-redirect': [],
  'inbound-ports-to-ignore': [],
  'outbound-ports-to-ignore': [],
  'subnets-to-ignore': [],
  simulate: false,
  'use-wait-flag': false,
  'iptables-mode': 'legacy',
  ipv6: false,
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);
const invalid = (message: string) => new CniError(CNI_ERR.invalidConfig, `invalid network configuration: ${message}`);

function integer(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${key} is ${show(v)}, expected an integer`);
  return v;
}
function boolean(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(`${key} is ${show(v)}, expected true or false`);
  return v;
}
function string(key: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(`${key} is ${show(v)}, expected a string`);
  return v;
}
// Linkerd's conflist writes ports as strings ("4191"); numbers are accepted too.
function stringList(key: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw invalid(`${key} is ${show(v)}, expected a list`);
  return v.map((item, i) => {
    if (typeof item === 'number' && Number.isInteger(item)) return String(item);
    if (typeof item !== 'string') throw invalid(`${key}[${i}] is ${show(item)}, expected a port, range or CIDR as a string`);
    return item;
  });
}

const READERS: { readonly [K in keyof RedirectSettings]: (key: string, v: unknown) => RedirectSettings[K] } = {
  'incoming-proxy-port': integer,
  'outgoing-proxy-port': integer,
  'proxy-uid': integer,
  'proxy-gid': integer,
  'ports-to-redirect': (key, v) => stringList(key, v).map((p, i) => integer(`${key}[${i}]`, /^\d+$/.test(p) ? Number(p) : p)),
  'inbound-ports-to-ignore': stringList,
  'outbound-ports-to-ignore': stringList,
  'subnets-to-ignore': stringList,
  simulate: boolean,
  'use-wait-flag': boolean,
  'iptables-mode': (key, v) => {
    const mode = string(key, v);
    if (!['', 'legacy', 'nft', 'plain'].includes(mode)) throw invalid(`${key} is ${show(mode)}, expected legacy, nft or plain`);
    return mode === '' ? 'legacy' : mode;
  },
  ipv6: boolean,
};

function redirectSettings(section: unknown): RedirectSettings {
  if (section === undefined) return DEFAULTS;
  if (!isObject(section)) throw invalid(`linkerd is ${show(section)}, expected an object of proxy-init settings`);
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(section)) {
    if (!(key in READERS)) {
      throw new CniError(CNI_ERR.unsupportedField, `invalid network configuration: linkerd.${key} is not a setting of this plugin (it knows ${Object.keys(READERS).join(', ')})`);
    }
    out[key] = READERS[key as keyof RedirectSettings](`linkerd.${key}`, value);
  }
  return out as unknown as RedirectSettings;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function parseNetConf(stdin: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CNI_ERR.decodeFailure, `the network configuration on stdin is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new CniError(CNI_ERR.decodeFailure, `the network configuration on stdin is ${show(raw)}, not a JSON object`);
  const cniVersion = string('cniVersion', raw['cniVersion'] ?? '');
  if (cniVersion === '') throw invalid('cniVersion is missing');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CNI_ERR.incompatibleVersion, `incompatible CNI version ${show(cniVersion)}: this plugin supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const name = string('name', raw['name'] ?? '');
  const type = string('type', raw['type'] ?? '');
  if (name === '') throw invalid('name is missing');
  if (type === '') throw invalid('type is missing');
  const level = string('log_level', raw['log_level'] ?? 'warn').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw invalid(`log_level is ${show(level)}, expected one of ${LOG_LEVELS.join(', ')}`);
  const k8s = raw['kubernetes'] ?? {};
  if (!isObject(k8s)) throw invalid(`kubernetes is ${show(k8s)}, expected an object with kubeconfig`);
  const prev = raw['prevResult'];
  if (prev !== undefined && !isObject(prev)) throw invalid(`prevResult is ${show(prev)}, expected the previous plugin's result object`);
  return {
    cniVersion,
    name,
    type,
    logLevel: level as LogLevel,
    kubeconfig: string('kubernetes.kubeconfig', k8s['kubeconfig'] ?? ''),
    redirect: redirectSettings(raw['linkerd']),
    prevResult: prev,
  };
}
