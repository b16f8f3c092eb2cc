import { describe, expect, it } from 'vitest';
import { createTrustAnchor } from './generate.ts';
import { decodeCertificates, decodePem, encodePem } from './pem.ts';

describe('PEM', () => {
  it('round-trips DER through PEM with 64-column lines', () => {
    const der = Uint8Array.from({ length: 100 }, (_, i) => i);
    const pem = encodePem('CERTIFICATE', der);
    expect(pem.split('\n')[1]).toHaveLength(64);
    expect(decodePem(pem)).toEqual([{ label: 'CERTIFICATE', der }]);
  });

  it('reads bundles with CRLF, indentation, comments between blocks and trailing whitespace', async () => {
    const a = await createTrustAnchor({ commonName: 'a' });
    const b = await createTrustAnchor({ commonName: 'b' });
    const messy = `# anchors\r\n  ${a.certificatePem.replace(/\n/g, '\r\n    ')}\n\nsome note\n${b.certificatePem}   \n\n`;
    const ders = decodeCertificates(messy, 'trust anchors');
    expect(ders.map((d) => Buffer.from(d).toString('hex'))).toEqual([a.certificate, b.certificate].map((d) => Buffer.from(d).toString('hex')));
  });

  it('names the source when a bundle has no certificate', () => {
    expect(() => decodeCertificates('nothing here', 'trust anchors')).toThrow('trust anchors: no PEM CERTIFICATE block found');
  });

  it('rejects invalid base64 and mismatched labels', () => {
    expect(() => decodePem('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----')).toThrow(/invalid base64/);
    expect(() => decodePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----')).toThrow(/ends with END PRIVATE KEY/);
  });

  it('rejects a CERTIFICATE block that is not X.509, saying which one', async () => {
    const a = await createTrustAnchor({ commonName: 'a' });
    expect(() => decodeCertificates(a.certificatePem + encodePem('CERTIFICATE', Uint8Array.of(1, 2, 3)), 'issuer certificate')).toThrow(
      'issuer certificate: certificate 2 of 2 is not a valid X.509 certificate',
    );
  });
});
