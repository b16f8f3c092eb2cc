// Linkerd's TLS metric labels (docs/reference/linkerd-proxy.md §6 "TLS label meanings") for the metric targets: accepted
// connections carry tls + client_id / sni / no_tls_reason, opened ones tls + server_id / no_tls_reason.
// Values only: makeTarget (metrics/proxy-metrics.ts) renders them once per target.
export type TlsAccept =
  | { readonly kind: 'meshed'; readonly clientId: string }
  | { readonly kind: 'passthrough'; readonly sni: string | undefined }
  | { readonly kind: 'plaintext'; readonly reason: 'no_tls_from_remote' | 'port_skipped' | 'loopback' };

export type TlsConnect =
  | { readonly kind: 'meshed'; readonly serverId: string }
  | { readonly kind: 'plaintext'; readonly reason: 'not_provided_by_service_discovery' | 'loopback' };

export function tlsAcceptLabels(t: TlsAccept): Record<string, string> {
  switch (t.kind) {
    case 'meshed':
      return { tls: 'true', client_id: t.clientId };
    case 'passthrough':
      return { tls: 'opaque', sni: t.sni ?? '' };
    case 'plaintext':
      return { tls: 'no_identity', no_tls_reason: t.reason };
  }
}

export function tlsConnectLabels(t: TlsConnect): Record<string, string> {
  return t.kind === 'meshed' ? { tls: 'true', server_id: t.serverId } : { tls: 'no_identity', no_tls_reason: t.reason };
}

/** What an outbound endpoint from discovery means for its connection labels. */
export function connectFor(endpoint: { readonly identity: string | undefined }, local: boolean): TlsConnect {
  if (local) return { kind: 'plaintext', reason: 'loopback' };
  return endpoint.identity ? { kind: 'meshed', serverId: endpoint.identity } : { kind: 'plaintext', reason: 'not_provided_by_service_discovery' };
}
