// The tap API's configuration: flags parsed once into a frozen object. Invalid values name the flag.
import { parseListenAddress, parsePort, type CommandSpec, type ListenAddress, type ParsedCommandLine } from '@trellis/config';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags } from '@trellis/config/component';
import type { LogFormat, LogLevel } from '@trellis/telemetry';

export interface TapApiConfig {
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly tapPort: number;
  readonly kubeconfig: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export const TAP_API_SPEC: CommandSpec = {
  name: 'tap',
  summary: "trellis tap: the tap.linkerd.io aggregated API, streaming live requests from the meshed pods' proxies.",
  flags: {
    addr: { type: 'string', description: 'address of the HTTPS API (the APIService points here)', default: ':8089', value: 'HOST:PORT' },
    'admin-addr': { type: 'string', description: 'address of the admin server (/metrics, /ping, /ready)', default: ':9998', value: 'HOST:PORT' },
    'tls-cert': { type: 'string', description: 'serving certificate (PEM)', default: '/var/run/trellis/tls/tls.crt', value: 'FILE' },
    'tls-key': { type: 'string', description: 'serving key (PEM)', default: '/var/run/trellis/tls/tls.key', value: 'FILE' },
    'tap-port': { type: 'string', description: "the proxies' tap (control) port", default: '4190', value: 'PORT' },
    ...KUBECONFIG_FLAG,
    ...LOG_FLAGS,
  },
};

export function tapApiConfig(cli: Extract<ParsedCommandLine, { kind: 'run' }>): TapApiConfig {
  const v = cli.values;
  const str = (k: string) => String(v[k]);
  return Object.freeze({
    addr: parseListenAddress('--addr', str('addr')),
    adminAddr: parseListenAddress('--admin-addr', str('admin-addr')),
    tlsCertFile: str('tls-cert'),
    tlsKeyFile: str('tls-key'),
    tapPort: parsePort('--tap-port', str('tap-port')),
    kubeconfig: kubeconfigFlag(v),
    ...logFlags(v),
  });
}
