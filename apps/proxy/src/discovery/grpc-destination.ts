// The Destination client (mTLS verified as LINKERD2_PROXY_DESTINATION_SVC_NAME, or plaintext to loopback).
import { DestinationClient } from '@trellis/proto';
import { controlClients, type ControlClients, type SupervisionOptions } from '../identity/control-clients.ts';
import type { ControlMetrics } from '../identity/control-metrics.ts';
import type { CredentialSource } from '../tls/mesh-tls.ts';
import type { DiscoveryConfig } from './config.ts';

export function destinationClients(config: Pick<DiscoveryConfig, 'svcAddr' | 'svcName'>, trustAnchorsPem: string, source: CredentialSource, metrics?: ControlMetrics, o: SupervisionOptions = {}): ControlClients<DestinationClient> {
  return controlClients(DestinationClient, config, trustAnchorsPem, source, metrics, o);
}
