import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createCsr, parseCsr } from './csr.ts';
import { generateKeyPair } from './keys.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const run = promisify(execFile);

describe('createCsr and parseCsr', () => {
  it('builds the CSR a proxy sends: CN and one DNS SAN equal to the identity, P-256 key, valid signature', async () => {
    const csr = parseCsr(await createCsr({ keys: generateKeyPair(), dnsNames: [ID] }));
    expect(csr.commonNames).toEqual([ID]);
    expect(csr.dnsNames).toEqual([ID]);
    expect([csr.ipAddresses, csr.uris, csr.emailAddresses, csr.otherNames]).toEqual([[], [], [], 0]);
    expect(csr.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(csr.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    expect(csr.verifySignature()).toBe(true);
  });

  it('reports IP and URI SANs and several DNS SANs', async () => {
    const csr = parseCsr(
      await createCsr({ keys: generateKeyPair(), dnsNames: [ID, 'other.example'], ipAddresses: ['10.0.0.1', '2001:db8::1'], uris: ['spiffe://td/ns/x'] }),
    );
    expect(csr.dnsNames).toEqual([ID, 'other.example']);
    expect(csr.ipAddresses).toEqual(['10.0.0.1', '2001:db8:0:0:0:0:0:1']);
    const mapped = parseCsr(await createCsr({ keys: generateKeyPair(), ipAddresses: ['::ffff:10.1.2.3', 'fe80::1:2'] }));
    expect(mapped.ipAddresses).toEqual(['0:0:0:0:0:ffff:a01:203', 'fe80:0:0:0:0:0:1:2']);
    expect(csr.uris).toEqual(['spiffe://td/ns/x']);
  });

  it('parses CSRs with an empty subject', async () => {
    const csr = parseCsr(await createCsr({ keys: generateKeyPair(), commonName: '', dnsNames: [ID] }));
    expect(csr.commonNames).toEqual([]);
    expect(Array.from(csr.subject)).toEqual([0x30, 0x00]);
  });

  it('parses RSA and P-384 CSRs so the caller can refuse them by key type', async () => {
    const rsa = parseCsr(await createCsr({ keys: generateKeyPairSync('rsa', { modulusLength: 2048 }), dnsNames: [ID] }));
    expect(rsa.publicKey.asymmetricKeyType).toBe('rsa');
    expect(rsa.verifySignature()).toBe(true);
    const p384 = parseCsr(await createCsr({ keys: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), dnsNames: [ID] }));
    expect(p384.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(p384.verifySignature()).toBe(true);
  });

  it('detects a signature that does not match the request body', async () => {
    const der = await createCsr({ keys: generateKeyPair(), dnsNames: [ID] });
    const tampered = Uint8Array.from(der);
    const at = Buffer.from(tampered).indexOf(Buffer.from(ID));
    tampered[at] = 'X'.charCodeAt(0);
    expect(parseCsr(tampered).verifySignature()).toBe(false);
  });

  it('parses a CSR made by openssl', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pki-'));
    await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k'),
      '-subj', `/CN=${ID}`, '-addext', `subjectAltName=DNS:${ID}`, '-outform', 'DER', '-out', join(dir, 'csr')]);
    const csr = parseCsr(new Uint8Array(await readFile(join(dir, 'csr'))));
    expect(csr.dnsNames).toEqual([ID]);
    expect(csr.verifySignature()).toBe(true);
  });

  it('writes a CSR that openssl verifies and reads as the proxy identity with a P-256 key and one DNS SAN', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pki-'));
    const long = `${'a'.repeat(40)}.${ID}`;
    await writeFile(join(dir, 'csr.der'), await createCsr({ keys: generateKeyPair(), dnsNames: [long] }));
    const { stdout, stderr } = await run('openssl', ['req', '-inform', 'DER', '-in', join(dir, 'csr.der'), '-noout', '-verify', '-text']);
    expect(`${stdout}${stderr}`).toMatch(/verify OK/i);
    expect(stdout).toMatch(new RegExp(`Subject: CN ?= ?${long.replace(/\./g, "\\.")}\n`));
    expect(stdout).toContain(`DNS:${long}`);
    expect(stdout).toMatch(/ASN1 OID: prime256v1/);
    expect(stdout).toContain('Signature Algorithm: ecdsa-with-SHA256');
  });

  it('refuses an IP SAN that is not an address', async () => {
    await expect(createCsr({ keys: generateKeyPair(), ipAddresses: ['10.0.0'] })).rejects.toThrow(/is not an IP address/);
  });

  it.each([
    ['empty bytes', new Uint8Array()],
    ['garbage', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)],
    ['a bare sequence', Uint8Array.of(0x30, 0x00)],
  ])('rejects %s as malformed', (_name, bytes) => {
    expect(() => parseCsr(bytes)).toThrow(expect.objectContaining({ code: 'TRELLIS_ERR_PKI_CSR_MALFORMED' }));
  });

  it('rejects trailing bytes after the request', async () => {
    const der = await createCsr({ keys: generateKeyPair(), dnsNames: [ID] });
    expect(() => parseCsr(Uint8Array.from([...der, 0]))).toThrow(/trailing data/);
  });
});
