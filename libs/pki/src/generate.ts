// Trust anchor and issuer generation for installs and tests, with the profiles `step certificate create`
// uses in Linkerd's docs (--profile root-ca / intermediate-ca): ECDSA P-256, SHA-256, SKI/AKI.
import { generateKeyPair, privateKeyToPem, toCryptoKeyPair, ECDSA_SHA256, type KeyPair } from './keys.ts';
import { encodePem } from './pem.ts';
import { x509 } from './x509.ts';

export interface GeneratedCa {
  readonly certificate: Uint8Array;
  readonly keys: KeyPair;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface CaOptions {
  readonly commonName: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Defaults to a fresh P-256 pair. */
  readonly keys?: KeyPair;
}

const DAY = 86_400_000;
const caKeyUsage = () => new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true);
const serial = () => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return Buffer.from(b).toString('hex');
};

function finish(cert: x509.X509Certificate, keys: KeyPair): GeneratedCa {
  const der = new Uint8Array(cert.rawData);
  return { certificate: der, keys, certificatePem: encodePem('CERTIFICATE', der), privateKeyPem: privateKeyToPem(keys.privateKey) };
}

/** A self-signed root (step's root-ca profile: CA, pathLen 1, keyCertSign|cRLSign); 10 years by default. */
export async function createTrustAnchor(opts: CaOptions): Promise<GeneratedCa> {
  const keys = opts.keys ?? generateKeyPair();
  const ck = toCryptoKeyPair(keys);
  const notBefore = opts.notBefore ?? new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [opts.commonName] }],
    keys: ck,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 3650 * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), caKeyUsage(), await x509.SubjectKeyIdentifierExtension.create(ck.publicKey)],
  });
  return finish(cert, keys);
}

/** An intermediate issuer signed by `parent` (step's intermediate-ca profile: CA, pathLen 0); 1 year by default. */
export async function createIssuer(opts: CaOptions & { readonly parent: GeneratedCa }): Promise<GeneratedCa> {
  const keys = opts.keys ?? generateKeyPair();
  const ck = toCryptoKeyPair(keys);
  const parentCert = new x509.X509Certificate(opts.parent.certificate);
  const parentKeys = toCryptoKeyPair(opts.parent.keys);
  const notBefore = opts.notBefore ?? new Date();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [opts.commonName] }],
    issuer: parentCert.subjectName,
    publicKey: ck.publicKey,
    signingKey: parentKeys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 365 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      caKeyUsage(),
      await x509.SubjectKeyIdentifierExtension.create(ck.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parentKeys.publicKey),
    ],
  });
  return finish(cert, keys);
}
