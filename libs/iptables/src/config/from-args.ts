// Builds a ProxyInitConfig from proxy-init's command-line arguments (tests, and the settings both tools share).
import { parseCommandLine } from '@trellis/config';
import { parseProxyInitConfig, type ProxyInitConfig } from './config.ts';
import { proxyInitCommand } from './flags.ts';

/** The arguments Linkerd's injector gives linkerd-init by default. */
export const INJECTOR_DEFAULT_ARGS = [
  '--incoming-proxy-port',
  '4143',
  '--outgoing-proxy-port',
  '4140',
  '--proxy-uid',
  '2102',
  '--inbound-ports-to-ignore',
  '4190,4191,4567,4568',
  '--outbound-ports-to-ignore',
  '4567,4568',
];

export function configFromArgs(...argv: string[]): ProxyInitConfig {
  const cli = parseCommandLine(proxyInitCommand, argv, { write: () => undefined });
  if (cli.kind !== 'run') throw new Error(`not a run: ${argv.join(' ')}`);
  return parseProxyInitConfig(cli.values);
}
