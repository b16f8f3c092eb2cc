// l5d-require-id: a request may name the TLS identity its endpoint must have; an endpoint with another identity (or
// none) is refused with 502 instead of being sent the request (docs/reference/linkerd-proxy.md §4 "Headers").
import type { MeshEndpoint } from '../discovery/outbound.ts';
import { IdentityRequiredError } from '../errors.ts';

export const L5D_REQUIRE_ID = 'l5d-require-id';

/** The error for a request whose required identity `me` does not have; undefined when it may go there. */
export function requiredIdentity(header: string | string[] | undefined, me: MeshEndpoint): IdentityRequiredError | undefined {
  const required = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!required) return undefined;
  const actual = me.endpoint.identity;
  return actual === required ? undefined : new IdentityRequiredError(required, actual);
}
