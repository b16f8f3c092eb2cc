// `trellis install-cni`: the manifests of the CNI plugin (helm/trellis-cni rendered by helm), to pipe into
// `kubectl apply -f -` before installing the control plane with cniEnabled=true. Linkerd's install-cni flags, each
// mapped to the chart value of the same meaning; -f/--set/--set-string come after them, as with install.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseCommandLine, parseInteger, parsePortRanges, type CommandSpec, type FlagSpec } from '@trellis/config';
import { GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';
import { helmTemplate } from '../install/helm.ts';
import { helmValueArgs } from '../install/render.ts';
import type { CommandIo } from './io.ts';
import { sayer } from './install.ts';

export const CNI_RELEASE = 'trellis-cni';
export const DEFAULT_CNI_NAMESPACE = 'trellis-cni';

const FLAGS = {
  'cni-namespace': { type: 'string', value: 'NS', description: `namespace of the CNI plugin's DaemonSet (default ${DEFAULT_CNI_NAMESPACE})` },
  'dest-cni-net-dir': { type: 'string', value: 'DIR', description: "the nodes' CNI configuration directory (default /etc/cni/net.d)" },
  'dest-cni-bin-dir': { type: 'string', value: 'DIR', description: "the nodes' CNI plugin directory (default /opt/cni/bin)" },
  'inbound-port': { type: 'string', value: 'PORT', description: "the proxy's inbound port (default 4143)" },
  'outbound-port': { type: 'string', value: 'PORT', description: "the proxy's outbound port (default 4140)" },
  'skip-inbound-ports': { type: 'string', value: 'PORTS', description: 'inbound ports and ranges not redirected (default 4567,4568)' },
  'skip-outbound-ports': { type: 'string', value: 'PORTS', description: 'outbound ports and ranges not redirected (default 4567,4568)' },
  'redirect-ports': { type: 'string', value: 'PORTS', description: 'redirect only these inbound ports (default: all)' },
  'proxy-uid': { type: 'string', value: 'UID', description: "the proxy's user id, whose traffic is not redirected (default 2102)" },
  'proxy-gid': { type: 'string', value: 'GID', description: "the proxy's group id, whose traffic is not redirected (default: none)" },
  'cni-log-level': { type: 'string', value: 'LEVEL', description: "the plugin's log level: debug, info, warn, error (default info)" },
  'iptables-mode': { type: 'string', value: 'MODE', description: 'nft, legacy or plain (default nft)' },
  'use-wait-flag': { type: 'boolean', description: 'pass -w (wait for the xtables lock) to iptables' },
  'cni-image': { type: 'string', value: 'NAME', description: 'image of the plugin and its installer (default trellis/cni-plugin)' },
  'cni-image-version': { type: 'string', value: 'TAG', description: "the image's tag (default: this release)" },
  'priority-class-name': { type: 'string', value: 'NAME', description: "priorityClassName of the installer's pods" },
  values: { type: 'list', short: 'f', split: false, value: 'FILE', description: 'a Helm values file (repeatable; later files win)' },
  set: { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value, as helm --set (repeatable)' },
  'set-string': { type: 'list', split: false, value: 'KEY=VAL', description: 'set a chart value as a string, as helm --set-string' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const INSTALL_CNI_SPEC: CommandSpec = {
  name: 'trellis install-cni',
  summary: 'Output the Kubernetes manifests to install the Trellis CNI plugin.',
  flags: FLAGS,
  globalFlags: GLOBAL_FLAGS,
  epilog: [
    'The plugin writes the pods\' iptables redirects from the node, so meshed pods need no privileged',
    'linkerd-init container. Install it first, then the control plane in CNI mode.',
    '',
    'Example:',
    '  trellis install-cni | kubectl apply -f -',
    '  trellis install --set cniEnabled=true | kubectl apply -f -',
  ].join('\n'),
};

type Values = Readonly<Record<string, unknown>>;
const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** The chart values the flags ask for; each bad value is named by its flag. */
export function cniValues(v: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const port = (flag: string, key: string) => {
    const raw = str(v, flag);
    if (raw !== undefined) out[key] = parseInteger(`--${flag}`, raw, 1, 65535);
  };
  const ports = (flag: string, key: string) => {
    const raw = str(v, flag);
    if (raw === undefined) return;
    if (raw.trim() !== '') parsePortRanges(`--${flag}`, raw);
    out[key] = raw.trim();
  };
  const dir = (flag: string, key: string) => {
    const raw = str(v, flag);
    if (raw === undefined) return;
    if (!raw.startsWith('/')) throw new ConfigError(`invalid value ${JSON.stringify(raw)} for --${flag}: expected an absolute path`);
    out[key] = raw;
  };
  const oneOf = (flag: string, key: string, allowed: readonly string[]) => {
    const raw = str(v, flag);
    if (raw === undefined) return;
    if (!allowed.includes(raw)) throw new ConfigError(`invalid value ${JSON.stringify(raw)} for --${flag}: expected one of ${allowed.join(', ')}`);
    out[key] = raw;
  };
  dir('dest-cni-net-dir', 'destCNINetDir');
  dir('dest-cni-bin-dir', 'destCNIBinDir');
  port('inbound-port', 'inboundProxyPort');
  port('outbound-port', 'outboundProxyPort');
  ports('skip-inbound-ports', 'ignoreInboundPorts');
  ports('skip-outbound-ports', 'ignoreOutboundPorts');
  ports('redirect-ports', 'portsToRedirect');
  if (str(v, 'proxy-uid') !== undefined) out['proxyUID'] = parseInteger('--proxy-uid', str(v, 'proxy-uid') ?? '', 1, 4_294_967_294);
  if (str(v, 'proxy-gid') !== undefined) out['proxyGID'] = parseInteger('--proxy-gid', str(v, 'proxy-gid') ?? '', -1, 4_294_967_294);
  oneOf('cni-log-level', 'logLevel', ['debug', 'info', 'warn', 'error']);
  oneOf('iptables-mode', 'iptablesMode', ['nft', 'legacy', 'plain']);
  if (v['use-wait-flag'] === true) out['useWaitFlag'] = true;
  const image: Record<string, string> = {};
  if (str(v, 'cni-image')) image['name'] = str(v, 'cni-image') ?? '';
  if (str(v, 'cni-image-version')) image['version'] = str(v, 'cni-image-version') ?? '';
  if (Object.keys(image).length > 0) out['image'] = image;
  if (str(v, 'priority-class-name') !== undefined) out['priorityClassName'] = str(v, 'priority-class-name');
  return out;
}

export async function runInstallCni(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(INSTALL_CNI_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const namespace = str(v, 'cni-namespace') ?? DEFAULT_CNI_NAMESPACE;
  const values = cniValues(v);
  const dir = await mkdtemp(join(tmpdir(), 'trellis-cni-values-'));
  try {
    // JSON, which helm reads as YAML: a port list such as 4567,4568 stays one string.
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(values), { mode: 0o600 });
    const flags = { values: strings(v['values']), set: strings(v['set']), setString: strings(v['set-string']), setFile: [], ha: false };
    io.stdout.write(await helmTemplate(CNI_RELEASE, CNI_RELEASE, namespace, helmValueArgs(flags, file), sayer(io, v)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}
