// Certify over gRPC (docs/reference/linkerd-contracts.md §2.1): TLS to the identity service, verified as LINKERD2_PROXY_IDENTITY_SVC_NAME
// against the trust anchors, with no client certificate (we have none yet); plaintext to a loopback address. The
// client is a control client like destination's, so a call never waits on an identity pod that went away.
import { Metadata } from '@grpc/grpc-js';
import { IdentityClient } from '@trellis/proto';
import type { IdentityConfig } from './config.ts';
import type { CertifyFn } from './agent.ts';
import { controlClients, type SupervisionOptions } from './control-clients.ts';
import type { ControlMetrics } from './control-metrics.ts';

const CERTIFY_DEADLINE_MS = 10_000;

export function grpcCertify(config: Pick<IdentityConfig, 'svcAddr' | 'svcName' | 'trustAnchorsPem'>, metrics?: ControlMetrics, o: SupervisionOptions = {}): { certify: CertifyFn; close(): void } {
  const clients = controlClients(IdentityClient, config, config.trustAnchorsPem, null, metrics, o);
  return {
    certify: (req) =>
      new Promise((resolve, reject) => {
        clients.get().certify(req, new Metadata(), { deadline: Date.now() + CERTIFY_DEADLINE_MS }, (err, rsp) => (err ? reject(err) : resolve(rsp)));
      }),
    close: () => clients.close(),
  };
}
