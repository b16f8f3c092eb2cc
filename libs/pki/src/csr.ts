// PKCS#10 certificate signing requests: built with @peculiar/x509 (proxies, tests, tools) and parsed with
// the strict DER reader (identity's hot path). Parsing only extracts facts; the policy (which names and
// keys are acceptable) belongs to the caller.
import { createPublicKey, verify, type KeyObject, type webcrypto } from 'node:crypto';
import { DerReader, TAG, decodeOid, readSingle, tlvRaw, tlvValue, type Tlv } from './der.ts';
import { PkiError } from './errors.ts';
import { ECDSA_SHA256, toCryptoKeyPair, type KeyPair } from './keys.ts';
import { OID, SIGNATURE_DIGESTS } from './oids.ts';
import { x509 } from './x509.ts';

export interface ParsedCsr {
  readonly der: Uint8Array;
  /** The subject Name, DER, copied verbatim into issued certificates. */
  readonly subject: Uint8Array;
  readonly commonNames: readonly string[];
  readonly dnsNames: readonly string[];
  readonly emailAddresses: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
  /** SAN entries of any other kind (otherName, directoryName, registeredID, ...). */
  readonly otherNames: number;
  /** SubjectPublicKeyInfo DER, copied verbatim into issued certificates. */
  readonly spki: Uint8Array;
  readonly publicKey: KeyObject;
  readonly signatureAlgorithm: string;
  /** Checks the CSR's self-signature with its own public key (proof of possession of the private key). */
  verifySignature(): boolean;
}

const bad = (why: string) => new PkiError('TRELLIS_ERR_PKI_CSR_MALFORMED', `certificate signing request is malformed: ${why}`);

/** Parses a DER PKCS#10 request. Throws PkiError TRELLIS_ERR_PKI_CSR_MALFORMED on anything unexpected. */
export function parseCsr(der: Uint8Array): ParsedCsr {
  try {
    return parseCsrUnchecked(der);
  } catch (err) {
    if (err instanceof PkiError && err.code === 'TRELLIS_ERR_PKI_CSR_MALFORMED') throw err;
    if (!(err instanceof PkiError)) throw bad('unreadable structure');
    // DER errors name the part that failed; the outermost one is the request itself.
    const outer = 'certificate signing request is malformed: ';
    throw new PkiError('TRELLIS_ERR_PKI_CSR_MALFORMED', err.message.startsWith(outer) ? err.message : outer + err.message);
  }
}

function parseCsrUnchecked(der: Uint8Array): ParsedCsr {
  const outer = DerReader.of(readSingle(der, 'certificate signing request', TAG.SEQUENCE), 'certificate signing request');
  const info = outer.read(TAG.SEQUENCE);
  const sigAlg = DerReader.of(outer.read(TAG.SEQUENCE), 'signature algorithm');
  const sigBits = outer.read(TAG.BIT_STRING);
  outer.finish();

  const r = DerReader.of(info, 'certification request info');
  const version = tlvValue(r.read(TAG.INTEGER));
  if (version.length !== 1 || version[0] !== 0) throw bad('version is not 1');
  const subjectTlv = r.read(TAG.SEQUENCE);
  const spkiTlv = r.read(TAG.SEQUENCE);
  const extensions = r.done ? [] : readExtensionRequest(r.read(0xa0));
  r.finish();

  const signatureAlgorithm = decodeOid(sigAlg.read(TAG.OID));
  const sigValue = tlvValue(sigBits);
  if (sigValue.length < 2 || sigValue[0] !== 0) throw bad('signature is not a whole number of bytes');
  const signature = sigValue.subarray(1);

  const spki = tlvRaw(spkiTlv);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw bad('the public key cannot be read');
  }

  const names = { dnsNames: [] as string[], emailAddresses: [] as string[], ipAddresses: [] as string[], uris: [] as string[], otherNames: 0 };
  const sans = extensions.filter((e) => e.oid === OID.subjectAltName);
  if (sans.length > 1) throw bad('more than one subjectAltName extension');
  if (sans[0]) readGeneralNames(sans[0].value, names);

  const infoRaw = tlvRaw(info);
  return {
    der,
    subject: tlvRaw(subjectTlv),
    commonNames: readCommonNames(subjectTlv),
    ...names,
    spki,
    publicKey,
    signatureAlgorithm,
    verifySignature() {
      const digest = SIGNATURE_DIGESTS.get(signatureAlgorithm);
      if (digest === undefined) return false;
      try {
        return verify(digest, infoRaw, publicKey, signature);
      } catch {
        // A signature algorithm that does not fit the key (RSA OID, EC key) is simply not a valid signature.
        return false;
      }
    },
  };
}

interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function readExtensionRequest(attributes: Tlv): RawExtension[] {
  const out: RawExtension[] = [];
  const attrs = DerReader.of(attributes, 'attributes');
  while (!attrs.done) {
    const attr = DerReader.of(attrs.read(TAG.SEQUENCE), 'attribute');
    const type = decodeOid(attr.read(TAG.OID));
    const values = attr.read(TAG.SET);
    attr.finish();
    if (type !== OID.extensionRequest) continue;
    const vs = DerReader.of(values, 'extension request');
    while (!vs.done) {
      const exts = DerReader.of(vs.read(TAG.SEQUENCE), 'extensions');
      while (!exts.done) {
        const ext = DerReader.of(exts.read(TAG.SEQUENCE), 'extension');
        const oid = decodeOid(ext.read(TAG.OID));
        let critical = false;
        if (ext.peekTag() === TAG.BOOLEAN) critical = tlvValue(ext.read(TAG.BOOLEAN))[0] !== 0;
        const value = tlvValue(ext.read(TAG.OCTET_STRING));
        ext.finish();
        if (out.some((e) => e.oid === oid)) throw bad(`extension ${oid} appears twice`);
        out.push({ oid, critical, value });
      }
    }
  }
  return out;
}

function readGeneralNames(
  value: Uint8Array,
  names: { dnsNames: string[]; emailAddresses: string[]; ipAddresses: string[]; uris: string[]; otherNames: number },
): void {
  const seq = DerReader.of(readSingle(value, 'subjectAltName', TAG.SEQUENCE), 'subjectAltName');
  while (!seq.done) {
    const gn = seq.read();
    const text = () => Buffer.from(tlvValue(gn)).toString('latin1');
    switch (gn.tag) {
      case 0x81:
        names.emailAddresses.push(text());
        break;
      case 0x82:
        names.dnsNames.push(text());
        break;
      case 0x86:
        names.uris.push(text());
        break;
      case 0x87:
        names.ipAddresses.push(formatIp(tlvValue(gn)));
        break;
      default:
        names.otherNames++;
    }
  }
}

function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
    return groups.join(':');
  }
  return `<${b.length}-byte address>`;
}

function readCommonNames(subject: Tlv): string[] {
  const out: string[] = [];
  const rdns = DerReader.of(subject, 'subject');
  while (!rdns.done) {
    const set = DerReader.of(rdns.read(TAG.SET), 'subject');
    while (!set.done) {
      const atv = DerReader.of(set.read(TAG.SEQUENCE), 'subject attribute');
      const type = decodeOid(atv.read(TAG.OID));
      const value = atv.read();
      atv.finish();
      if (type === OID.commonName) out.push(decodeDirectoryString(value));
    }
  }
  return out;
}

function decodeDirectoryString(t: Tlv): string {
  const v = Buffer.from(tlvValue(t));
  switch (t.tag) {
    case TAG.UTF8_STRING:
      return v.toString('utf8');
    case TAG.BMP_STRING:
      return v.swap16().toString('utf16le');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
      return v.toString('latin1');
    default:
      throw bad('subject common name has an unsupported string type');
  }
}

export interface CsrOptions {
  /** ECDSA (any curve) or RSA: other kinds exist only so tests can prove identity refuses them. */
  readonly keys: KeyPair;
  /** Subject CN; defaults to the first DNS name. Pass '' for an empty subject. */
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
}

/** Builds a DER CSR, as the proxy does before its first Certify: CN = identity, one DNS SAN = identity. */
export async function createCsr(opts: CsrOptions): Promise<Uint8Array> {
  const cn = opts.commonName ?? opts.dnsNames?.[0] ?? '';
  const sans: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(opts.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const { keys, signingAlgorithm } = webCryptoKeys(opts.keys);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: cn === '' ? [] : [{ CN: [cn] }],
    keys,
    signingAlgorithm,
    extensions: sans.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(sans)],
  });
  return new Uint8Array(csr.rawData);
}

function webCryptoKeys(k: KeyPair): { keys: webcrypto.CryptoKeyPair; signingAlgorithm: webcrypto.Algorithm } {
  const type = k.privateKey.asymmetricKeyType;
  if (type === 'ec') {
    const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
    const namedCurve = curves[k.privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (namedCurve === undefined) throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', 'unsupported EC curve for a CSR');
    const alg = { name: 'ECDSA', namedCurve };
    if (namedCurve === 'P-256') return { keys: toCryptoKeyPair(k), signingAlgorithm: ECDSA_SHA256 };
    return {
      keys: { privateKey: k.privateKey.toCryptoKey(alg, false, ['sign']), publicKey: k.publicKey.toCryptoKey(alg, true, ['verify']) },
      signingAlgorithm: { name: 'ECDSA', hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512' } as webcrypto.Algorithm,
    };
  }
  if (type === 'rsa') {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return {
      keys: { privateKey: k.privateKey.toCryptoKey(alg, false, ['sign']), publicKey: k.publicKey.toCryptoKey(alg, true, ['verify']) },
      signingAlgorithm: alg,
    };
  }
  throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', `unsupported key type ${type ?? 'unknown'} for a CSR`);
}
