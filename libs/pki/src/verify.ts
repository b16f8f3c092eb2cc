// Path validation to a set of trust anchors with node's native X509Certificate: issuer/subject linkage,
// signatures, CA flag on every issuer, and validity of every certificate at `now`.
import { X509Certificate } from 'node:crypto';
import { PkiError } from './errors.ts';

export interface VerifiedChain {
  /** Leaf first, anchor last (a single element when the certificate is itself an anchor). */
  readonly path: readonly X509Certificate[];
  /** The earliest expiry on the path: nothing it signs may outlive it. */
  readonly notAfter: Date;
}

export interface VerifyChainOptions {
  readonly now?: Date;
  /** Longest path, anchors included; bounds the search on hostile bundles. */
  readonly maxDepth?: number;
}

const fail = (why: string) => new PkiError('TRELLIS_ERR_PKI_CHAIN', why);

function describe(c: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1];
  return cn === undefined ? `certificate with subject "${c.subject.replace(/\n/g, ', ')}"` : `certificate "${cn}"`;
}

function checkTime(c: X509Certificate, now: Date): void {
  if (now < c.validFromDate) throw fail(`${describe(c)} is not valid before ${c.validFromDate.toISOString()}`);
  if (now > c.validToDate) throw fail(`${describe(c)} expired at ${c.validToDate.toISOString()}`);
}

const issuedBy = (child: X509Certificate, parent: X509Certificate) =>
  parent.ca && child.checkIssued(parent) && child.verify(parent.publicKey);

/**
 * Verifies that `leaf` chains to one of `anchors`, optionally through `intermediates` (any order).
 * Throws PkiError TRELLIS_ERR_PKI_CHAIN naming the first problem found.
 */
export function verifyChain(
  leaf: Uint8Array,
  intermediates: readonly Uint8Array[],
  anchors: readonly Uint8Array[],
  opts: VerifyChainOptions = {},
): VerifiedChain {
  const now = opts.now ?? new Date();
  const maxDepth = opts.maxDepth ?? 8;
  const anchorCerts = anchors.map((a) => new X509Certificate(a));
  const pool = intermediates.map((i) => new X509Certificate(i));
  const start = new X509Certificate(leaf);
  checkTime(start, now);

  const search = (cert: X509Certificate, path: X509Certificate[]): X509Certificate[] | undefined => {
    if (anchorCerts.some((a) => a.raw.equals(cert.raw))) return path;
    if (path.length >= maxDepth) return undefined;
    for (const a of anchorCerts) if (issuedBy(cert, a)) return [...path, a];
    for (const next of pool) {
      if (path.some((p) => p.raw.equals(next.raw)) || !issuedBy(cert, next)) continue;
      const found = search(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  const path = search(start, [start]);
  if (!path) throw fail(`${describe(start)} does not chain to any of the ${anchors.length} trust anchor(s)`);
  for (const c of path) checkTime(c, now);
  const notAfter = new Date(Math.min(...path.map((c) => c.validToDate.getTime())));
  return { path, notAfter };
}
