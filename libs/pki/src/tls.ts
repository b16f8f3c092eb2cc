// node:tls wants PEM: `cert` = leaf then its chain, `key` = PKCS#8, `ca` = trust anchors only.
import type { KeyObject } from 'node:crypto';
import { privateKeyToPem } from './keys.ts';
import { encodeCertificates } from './pem.ts';

export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export function tlsCredentials(opts: {
  readonly leaf: Uint8Array;
  readonly chain: readonly Uint8Array[];
  readonly privateKey: KeyObject;
  readonly trustAnchors: readonly Uint8Array[];
}): TlsCredentials {
  return {
    cert: encodeCertificates([opts.leaf, ...opts.chain]),
    key: privateKeyToPem(opts.privateKey),
    ca: encodeCertificates(opts.trustAnchors),
  };
}
