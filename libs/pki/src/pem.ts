// PEM text <-> DER bytes. Bundles are normalised (CRLF, indentation, trailing whitespace, text between
// blocks) because hand-edited ConfigMaps and Secrets carry all of those.
import { X509Certificate } from 'node:crypto';
import { PkiError } from './errors.ts';

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in `text`, in order. Throws on a block with bad base64 or mismatched labels. */
export function decodePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin = '', body = '', end = ''] = m;
    if (begin !== end) throw new PemBlockError(`PEM block BEGIN ${begin} ends with END ${end}`);
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new PemBlockError(`PEM block ${begin} has invalid base64`);
    const der = new Uint8Array(Buffer.from(b64, 'base64'));
    if (der.length === 0) throw new PemBlockError(`PEM block ${begin} is empty`);
    out.push({ label: begin, der });
  }
  return out;
}

class PemBlockError extends PkiError {
  constructor(message: string) {
    super('TRELLIS_ERR_PKI_PEM', message);
  }
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The DER of every CERTIFICATE block in a bundle, each checked to parse as X.509. `what` names the
 * source ("trust anchors", "issuer certificate") in errors. At least one certificate is required.
 */
export function decodeCertificates(text: string, what: string): Uint8Array[] {
  let blocks: PemBlock[];
  try {
    blocks = decodePem(text);
  } catch (err) {
    throw new PkiError('TRELLIS_ERR_PKI_PEM', `${what}: ${(err as Error).message}`);
  }
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw new PkiError('TRELLIS_ERR_PKI_PEM', `${what}: no PEM CERTIFICATE block found`);
  return certs.map((b, i) => {
    try {
      new X509Certificate(b.der);
    } catch {
      throw new PkiError('TRELLIS_ERR_PKI_PEM', `${what}: certificate ${i + 1} of ${certs.length} is not a valid X.509 certificate`);
    }
    return b.der;
  });
}

export function encodeCertificates(ders: readonly Uint8Array[]): string {
  return ders.map((d) => encodePem('CERTIFICATE', d)).join('');
}
