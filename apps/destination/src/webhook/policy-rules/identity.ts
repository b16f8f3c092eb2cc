// Which strings name a client identity: a SPIFFE ID (spiffe://trust-domain/path) or a DNS-like name, where `*`
// may stand for the first label (`*` alone is every authenticated client, `*.ns.serviceaccount...` a suffix).
const DNS_LIKE = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why `id` is not an identity, or undefined. */
export function identityProblem(id: string): string | undefined {
  if (!id.startsWith('spiffe://')) {
    return DNS_LIKE.test(id) ? undefined : 'an identity is a DNS-like name (lower-case labels, `*` only as the first) or a spiffe:// ID';
  }
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const domain = slash < 0 ? rest : rest.slice(0, slash);
  if (domain === '') return 'the SPIFFE ID has no trust domain';
  if (!TRUST_DOMAIN.test(domain)) return 'a SPIFFE trust domain holds only lower-case letters, digits, dots, dashes and underscores';
  if (slash < 0) return undefined;
  const segments = rest.slice(slash + 1).split('/');
  for (const [i, s] of segments.entries()) {
    if (s === '') return i === segments.length - 1 ? 'a SPIFFE path cannot end with a slash' : 'a SPIFFE path cannot hold an empty segment';
    if (s === '.' || s === '..') return 'a SPIFFE path cannot hold "." or ".." segments';
    if (!PATH_SEGMENT.test(s)) return 'a SPIFFE path holds only letters, digits, dots, dashes and underscores';
  }
  return undefined;
}
