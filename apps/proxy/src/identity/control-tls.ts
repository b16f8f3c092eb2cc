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
 * down its name has no addresses, and when its pod is replaced the old IP refuses connections or, when the pod's
 * network went away with it, answers nothing at all. So, as Linkerd's control clients do:
 * - HTTP/2 PINGs every 10 s, idle or not, and a connection whose PING is not acknowledged within 3 s is closed;
 *   without them a watch on a vanished peer stays open, silent, until the stream's idle timeout (5 min);
 * - failed connections are retried from 100 ms up to 500 ms apart (grpc-js: 1 s up to 120 s), and the name is
 *   re-resolved at most 1 s apart (grpc-js: 30 s), so a replaced controller pod is dialled within seconds;
 * - each channel has its own subchannels (grpc-js shares them between channels by default), so a client built to
 *   replace one stuck on a dead address does not inherit its connection attempt;
 * - no service config is looked up in TXT records (the control plane publishes none).
 * What grpc-js cannot do here (a connect timeout, resolving again while it waits on a dead address, leaving an
 * address the name no longer gives) control-clients.ts does around it.
 */
export const CONTROL_CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 3_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.dns_min_time_between_resolutions_ms': 1_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.service_config_disable_resolution': 1,
} as const;

/**
 * A client on the fallback address (destination's ClusterIP Service) cannot tell which pod kube-proxy sent it to,
 * so it cannot notice that pod leaving the name; it pings faster instead, and is short-lived (until the name
 * answers again).
 */
export const FALLBACK_CHANNEL_OPTIONS = {
  ...CONTROL_CHANNEL_OPTIONS,
  'grpc.keepalive_time_ms': 2_000,
  'grpc.keepalive_timeout_ms': 1_000,
} as const;
