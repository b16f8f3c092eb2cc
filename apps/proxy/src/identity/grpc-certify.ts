// Certify over gRPC (docs/reference/linkerd-contracts.md §2.1): TLS to the identity service, verified as LINKERD2_PROXY_IDENTITY_SVC_NAME
// against the trust anchors, with no client certificate (we have none yet); plaintext to a loopback address.
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { IdentityClient } from '@trellis/proto';
import type { IdentityConfig } from './config.ts';
import type { CertifyFn } from './agent.ts';
import type { ControlMetrics } from './control-metrics.ts';
import { CONTROL_CHANNEL_OPTIONS, controlChannelCredentials } from './control-tls.ts';

const CERTIFY_DEADLINE_MS = 10_000;

export function grpcCertify(config: Pick<IdentityConfig, 'svcAddr' | 'svcName' | 'trustAnchorsPem'>, metrics?: ControlMetrics): { certify: CertifyFn; close(): void } {
  const creds: ChannelCredentials = config.svcAddr.loopback ? credentials.createInsecure() : controlChannelCredentials(config.trustAnchorsPem, config.svcName);
  const options = config.svcAddr.loopback ? CONTROL_CHANNEL_OPTIONS : { ...CONTROL_CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': config.svcName, 'grpc.default_authority': config.svcAddr.text };
  const client = new IdentityClient(config.svcAddr.text, creds, metrics ? { ...options, interceptors: [metrics.interceptor(config)] } : options);
  return {
    certify: (req) =>
      new Promise((resolve, reject) => {
        client.certify(req, new Metadata(), { deadline: Date.now() + CERTIFY_DEADLINE_MS }, (err, rsp) => (err ? reject(err) : resolve(rsp)));
      }),
    close: () => client.close(),
  };
}
