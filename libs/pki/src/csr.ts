// PKCS#10 certificate signing requests: built with the DER writer (proxies, tests, tools) and parsed with
// the strict DER reader (identity's hot path). Parsing only extracts facts; the policy (which names and
// keys are acceptable) belongs to the caller.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { DerReader, TAG, bitString, decodeOid, der, encodeOid, octetString, readSingle, sequence, tlvRaw, tlvValue, type Tlv } from './der.ts';
import { PkiError } from './errors.ts';
import { spkiOf, type KeyPair } from './keys.ts';
import { OID, SIGNATURE_DIGESTS } from './oids.ts';

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
  /** ECDSA (P-256, P-384, P-521) or RSA: other kinds exist only so tests can prove identity refuses them. */
  readonly keys: KeyPair;
  /** Subject CN; defaults to the first DNS name. Pass '' for an empty subject. */
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly uris?: readonly string[];
}

/**
 * Builds a DER PKCS#10 request (RFC 2986) with the DER writer and node:crypto's signature, as the proxy does
 * before its first Certify: CN = identity, one DNS SAN = identity, signed by its ECDSA P-256 key.
 */
export async function createCsr(opts: CsrOptions): Promise<Uint8Array> {
  const cn = opts.commonName ?? opts.dnsNames?.[0] ?? '';
  const { digest, algorithm } = signatureAlgorithm(opts.keys.privateKey);
  const sans = [
    ...(opts.dnsNames ?? []).map((n) => der(0x82, Buffer.from(n, 'latin1'))),
    ...(opts.ipAddresses ?? []).map((ip) => der(0x87, ipBytes(ip))),
    ...(opts.uris ?? []).map((u) => der(0x86, Buffer.from(u, 'latin1'))),
  ];
  const subject = cn === '' ? sequence() : sequence(der(TAG.SET, sequence(encodeOid(OID.commonName), der(TAG.UTF8_STRING, Buffer.from(cn, 'utf8')))));
  const extensionRequest = sequence(encodeOid(OID.extensionRequest), der(TAG.SET, sequence(sequence(encodeOid(OID.subjectAltName), octetString(sequence(...sans))))));
  const info = sequence(der(TAG.INTEGER, Uint8Array.of(0)), subject, spkiOf(opts.keys.publicKey), der(0xa0, ...(sans.length === 0 ? [] : [extensionRequest])));
  const signature = sign(digest, info, opts.keys.privateKey);
  return sequence(info, algorithm, bitString(signature));
}

/** The digest and AlgorithmIdentifier for a key: ECDSA with the curve's hash, RSA PKCS#1 v1.5 with SHA-256. */
function signatureAlgorithm(key: KeyObject): { digest: string; algorithm: Uint8Array } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const byCurve: Record<string, [string, string]> = {
      prime256v1: ['sha256', OID.ecdsaWithSha256],
      secp384r1: ['sha384', OID.ecdsaWithSha384],
      secp521r1: ['sha512', OID.ecdsaWithSha512],
    };
    const found = byCurve[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (found === undefined) throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', 'unsupported EC curve for a CSR');
    // RFC 5758 §3.2: the ECDSA algorithm identifiers have no parameters.
    return { digest: found[0], algorithm: sequence(encodeOid(found[1])) };
  }
  // RFC 4055 §5: NULL parameters for the RSA PKCS#1 v1.5 identifiers.
  if (type === 'rsa') return { digest: 'sha256', algorithm: sequence(encodeOid(OID.sha256WithRsa), der(TAG.NULL, new Uint8Array())) };
  throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', `unsupported key type ${type ?? 'unknown'} for a CSR`);
}

/** An iPAddress GeneralName's octets: 4 for IPv4, 16 for IPv6 ("::" expanded). */
function ipBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new PkiError('TRELLIS_ERR_PKI_CSR_MALFORMED', `subjectAltName IP ${JSON.stringify(ip)} is not an IP address`);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}
