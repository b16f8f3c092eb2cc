// l5d-client-id (docs/reference/linkerd-proxy.md §3 "Server side"): the inbound proxy sets it to the verified client identity
// and strips any value a client sent when there is none, so applications can trust it.
export const L5D_CLIENT_ID = 'l5d-client-id';

/** Works on node:http IncomingHttpHeaders and node:http2 header objects alike (lower-case keys). */
export function applyClientId(headers: Record<string, string | string[] | undefined>, clientId: string | undefined): void {
  if (clientId) headers[L5D_CLIENT_ID] = clientId;
  else delete headers[L5D_CLIENT_ID];
}

/** For node:http rawHeaders (name, value, name, value...): drops every l5d-client-id pair, then appends ours. */
export function applyClientIdRaw(raw: readonly string[], clientId: string | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === L5D_CLIENT_ID.length && name.toLowerCase() === L5D_CLIENT_ID) continue;
    out.push(name, raw[i + 1] as string);
  }
  if (clientId) out.push(L5D_CLIENT_ID, clientId);
  return out;
}
