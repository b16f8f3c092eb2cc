// The injector's configuration: flags parsed once into a frozen object. Invalid values name the flag.
import { parseListenAddress, type CommandSpec, type ListenAddress, type ParsedCommandLine } from '@trellis/config';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags } from '@trellis/config/component';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '@trellis/inject';
import type { LogFormat, LogLevel } from '@trellis/telemetry';

export interface InjectorConfig {
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly controlPlaneNamespace: string;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly valuesFile: string;
  readonly trustAnchorsFile: string;
  readonly kubeconfig: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export const INJECTOR_SPEC: CommandSpec = {
  name: 'proxy-injector',
  summary: 'trellis proxy-injector: the admission webhook that adds the Trellis proxy to meshed pods.',
  flags: {
    addr: { type: 'string', description: 'address of the HTTPS admission server', default: ':8443', value: 'HOST:PORT' },
    'metrics-addr': { type: 'string', description: 'address of the admin server (/metrics, /ping, /ready)', default: ':9995', value: 'HOST:PORT' },
    'trellis-namespace': { type: 'string', description: 'namespace of the Trellis control plane', default: DEFAULT_CONTROL_PLANE_NAMESPACE },
    'tls-cert': { type: 'string', description: 'PEM certificate of the webhook (reloaded when it changes)', default: '/var/run/linkerd/tls/tls.crt', value: 'FILE' },
    'tls-key': { type: 'string', description: 'PEM private key of the webhook (reloaded when it changes)', default: '/var/run/linkerd/tls/tls.key', value: 'FILE' },
    'values-file': { type: 'string', description: 'control-plane values (the trellis-config ConfigMap key "values")', default: '/var/run/linkerd/config/values', value: 'FILE' },
    'trust-anchors-file': { type: 'string', description: 'PEM trust anchors given to injected proxies', default: '/var/run/linkerd/identity/trust-roots/ca-bundle.crt', value: 'FILE' },
    ...KUBECONFIG_FLAG,
    ...LOG_FLAGS,
  },
};


export function injectorConfig(cli: Extract<ParsedCommandLine, { kind: 'run' }>): InjectorConfig {
  const v = cli.values;
  const str = (k: string) => String(v[k]);
  return Object.freeze({
    addr: parseListenAddress('--addr', str('addr')),
    adminAddr: parseListenAddress('--metrics-addr', str('metrics-addr')),
    controlPlaneNamespace: str('trellis-namespace'),
    tlsCertFile: str('tls-cert'),
    tlsKeyFile: str('tls-key'),
    valuesFile: str('values-file'),
    trustAnchorsFile: str('trust-anchors-file'),
    kubeconfig: kubeconfigFlag(v),
    ...logFlags(v),
  });
}
