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

/**
 * Channel options every control-plane client shares. The addresses are headless Services: while the controller is
 * down its name has no addresses, and when its pod is replaced the old IP refuses connections. grpc-js backs off
 * failed resolutions and reconnects up to 120 s and re-resolves at most every 30 s by default, so a proxy could keep
 * dialling a dead pod for a minute after the control plane is back; these bounds make it seconds.
 */
export const CONTROL_CHANNEL_OPTIONS = { 'grpc.dns_min_time_between_resolutions_ms': 1_000, 'grpc.max_reconnect_backoff_ms': 3_000 } as const;
