// ECDSA P-256 keys as node KeyObjects (signing with node:crypto is synchronous and ~7x faster than WebCrypto);
// converted to CryptoKeys only where @peculiar/x509 needs them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, type webcrypto } from 'node:crypto';
import { PkiError } from './errors.ts';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** "ECDSA P-256", "ECDSA P-384", "RSA 2048", "ED25519": how errors describe a key. */
export function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  const d = key.asymmetricKeyDetails;
  if (type === 'ec') {
    const curve = d?.namedCurve;
    const names: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
    return `ECDSA ${curve === undefined ? 'unknown curve' : (names[curve] ?? curve)}`;
  }
  if (type === 'rsa' || type === 'rsa-pss') return `${type.toUpperCase()} ${d?.modulusLength ?? ''}`.trim();
  return type.toUpperCase();
}

export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function assertP256(key: KeyObject, what: string): void {
  if (!isP256(key)) throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', `${what} must be an ECDSA P-256 key, found ${describeKey(key)}`);
}

/**
 * Reads a private key from PEM: PKCS#8 ("PRIVATE KEY", what Trellis writes) or SEC1 ("EC PRIVATE KEY",
 * what `step` and openssl write). Only ECDSA P-256 is accepted. Errors never include the key text.
 */
export function parsePrivateKey(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new PkiError('TRELLIS_ERR_PKI_PEM', `${what} is not a PEM private key (PKCS#8 or SEC1 EC)`);
  }
  assertP256(key, what);
  return key;
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** PKCS#8 DER: the proxy's key.p8. */
export function privateKeyToPkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

/** SubjectPublicKeyInfo DER of a public or private key. */
export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

/** The pair as non-extractable WebCrypto keys, for @peculiar/x509's generators. */
export function toCryptoKeyPair(keys: KeyPair): webcrypto.CryptoKeyPair {
  return {
    privateKey: keys.privateKey.toCryptoKey(P256, false, ['sign']),
    publicKey: keys.publicKey.toCryptoKey(P256, true, ['verify']),
  };
}
