// A certificate from Certify becomes credentials only after the checks Linkerd makes (docs/reference/linkerd-proxy.md §3):
// the leaf chains to a trust anchor through the intermediates, is unexpired, carries our identity among its
// SANs, and holds the public half of our key.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { spkiOf, tlsCredentials, verifyChain, type TlsCredentials } from '@trellis/pki/workload';
import { IdentityError } from './errors.ts';

export interface Credentials {
  readonly identity: string;
  readonly leaf: Uint8Array;
  readonly chain: readonly Uint8Array[];
  readonly privateKey: KeyObject;
  /** The leaf's notAfter (also the earliest on the path, since issuers cap their leaves). */
  readonly expiry: Date;
  /** PEM for node:tls: cert = leaf + chain, key = PKCS#8, ca = trust anchors. */
  readonly tls: TlsCredentials;
  /** Increases with every certificate, so caches keyed on credentials know when to rebuild. */
  readonly generation: number;
}

/** DNS and URI SANs as node prints them in `subjectaltname` ("DNS:a, URI:spiffe://b"). */
export function sanNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  // Values may be quoted when they contain a comma; Linkerd identities never do, but split safely anyway.
  const re = /(DNS|URI):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(subjectAltName); m; m = re.exec(subjectAltName)) {
    const v = (m[2] ?? '').trim();
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

export function verifyCertified(opts: {
  readonly identity: string;
  readonly leaf: Uint8Array;
  readonly intermediates: readonly Uint8Array[];
  readonly trustAnchors: readonly Uint8Array[];
  readonly privateKey: KeyObject;
  readonly now: Date;
  readonly generation: number;
}): Credentials {
  const bad = (why: string, cause?: unknown) =>
    new IdentityError('TRELLIS_ERR_IDENTITY_CERTIFICATE', `certificate from the identity service refused: ${why}`, cause === undefined ? undefined : { cause });
  if (opts.leaf.length === 0) throw bad('the response holds no leaf certificate');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(opts.leaf);
  } catch (err) {
    throw bad('the leaf certificate is not valid DER', err);
  }
  try {
    verifyChain(opts.leaf, opts.intermediates, opts.trustAnchors, { now: opts.now });
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err), err);
  }
  const names = sanNames(leaf.subjectAltName);
  if (!names.includes(opts.identity)) throw bad(`its SANs [${names.join(', ')}] do not include ${opts.identity}`);
  if (!Buffer.from(spkiOf(leaf.publicKey)).equals(Buffer.from(spkiOf(opts.privateKey)))) throw bad('it does not hold our public key');
  return Object.freeze({
    identity: opts.identity,
    leaf: opts.leaf,
    chain: Object.freeze([...opts.intermediates]),
    privateKey: opts.privateKey,
    expiry: leaf.validToDate,
    tls: tlsCredentials({ leaf: opts.leaf, chain: opts.intermediates, privateKey: opts.privateKey, trustAnchors: opts.trustAnchors }),
    generation: opts.generation,
  });
}
