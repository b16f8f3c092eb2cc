// The tap API's configuration: flags parsed once into a frozen object. Invalid values name the flag.
import { ConfigError, parseListenAddress, parsePort, type CommandSpec, type ListenAddress, type ParsedCommandLine } from '@trellis/config';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags } from '@trellis/config/component';
import type { LogFormat, LogLevel } from '@trellis/telemetry';

export interface TapApiConfig {
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly tapPort: number;
  /** The tap injector's webhook (undefined: not served). */
  readonly injector: { readonly addr: ListenAddress; readonly tlsCertFile: string; readonly tlsKeyFile: string; readonly tapServiceName: string } | undefined;
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
    'injector-addr': { type: 'string', description: "address of the tap injector's HTTPS webhook (a MutatingWebhookConfiguration points here); empty: not served", default: '', value: 'HOST:PORT' },
    'injector-tls-cert': { type: 'string', description: "the tap injector's serving certificate (PEM)", default: '/var/run/trellis/injector-tls/tls.crt', value: 'FILE' },
    'injector-tls-key': { type: 'string', description: "the tap injector's serving key (PEM)", default: '/var/run/trellis/injector-tls/tls.key', value: 'FILE' },
    'tap-service-name': {
      type: 'string',
      description: "the identity the tap injector gives meshed pods' proxies (LINKERD2_PROXY_TAP_SVC_NAME): this pod's; $(_l5d_ns) and $(_l5d_trustdomain) are filled in from each proxy's own environment",
      default: '',
      value: 'NAME',
    },
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
    injector: injectorConfig(str),
    kubeconfig: kubeconfigFlag(v),
    ...logFlags(v),
  });
}

function injectorConfig(str: (k: string) => string): TapApiConfig['injector'] {
  if (str('injector-addr') === '') return undefined;
  const tapServiceName = str('tap-service-name');
  if (tapServiceName === '') {
    throw new ConfigError(`missing --tap-service-name: the tap injector (--injector-addr) needs the tap identity, tap.<viz namespace>.serviceaccount.identity.<control-plane namespace>.<trust domain>`);
  }
  return { addr: parseListenAddress('--injector-addr', str('injector-addr')), tlsCertFile: str('injector-tls-cert'), tlsKeyFile: str('injector-tls-key'), tapServiceName };
}
