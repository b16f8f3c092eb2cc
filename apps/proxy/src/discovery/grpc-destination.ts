// The Destination client, rebuilt when our certificate changes so new streams present the new one (mTLS
// verified as LINKERD2_PROXY_DESTINATION_SVC_NAME), or plaintext to a loopback address.
import { credentials } from '@grpc/grpc-js';
import { DestinationClient } from '@trellis/proto';
import { controlChannelCredentials } from '../identity/control-tls.ts';
import type { CredentialSource } from '../tls/mesh-tls.ts';
import type { DiscoveryConfig } from './config.ts';

export function destinationClients(config: Pick<DiscoveryConfig, 'svcAddr' | 'svcName'>, trustAnchorsPem: string, source: CredentialSource): { get: () => DestinationClient; close(): void } {
  let cached: { generation: number; client: DestinationClient } | undefined;
  const old: DestinationClient[] = [];
  return {
    get() {
      if (config.svcAddr.loopback) {
        cached ??= { generation: 0, client: new DestinationClient(config.svcAddr.text, credentials.createInsecure()) };
        return cached.client;
      }
      const creds = source.current();
      const generation = creds?.generation ?? -1;
      if (cached?.generation !== generation) {
        // Streams already open on the old channel continue until they end; it is closed with the rest.
        if (cached) old.push(cached.client);
        const channel = controlChannelCredentials(trustAnchorsPem, config.svcName, creds?.tls);
        cached = { generation, client: new DestinationClient(config.svcAddr.text, channel, { 'grpc.ssl_target_name_override': config.svcName, 'grpc.default_authority': config.svcAddr.text }) };
      }
      return cached.client;
    },
    close() {
      cached?.client.close();
      for (const c of old.splice(0)) c.close();
    },
  };
}
