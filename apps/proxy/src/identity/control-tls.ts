// TLS to a control-plane service: the chain must lead to our trust anchors, and the service's certificate must
// name the expected identity (`*_SVC_NAME`) among its DNS/URI SANs; the hostname in the address is not checked.
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { sanNames } from './credentials.ts';

export function checkIdentity(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const names = sanNames(cert.subjectaltname);
    return names.includes(expected) ? undefined : new Error(`certificate does not match TLS identity: expected ${expected}, found [${names.join(', ')}]`);
  };
}

/**
 * Channel credentials for a control-plane client. With `client` set (our current certificate), the connection
 * is mutual TLS, as destination and policy expect; identity's Certify goes without one.
 */
export function controlChannelCredentials(trustAnchorsPem: string, svcName: string, client?: { readonly key: string; readonly cert: string }): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(trustAnchorsPem),
    client ? Buffer.from(client.key) : null,
    client ? Buffer.from(client.cert) : null,
    { checkServerIdentity: checkIdentity(svcName) },
  );
}
