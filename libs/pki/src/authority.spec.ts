import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from './authority.ts';
import { createCsr, parseCsr } from './csr.ts';
import { createIssuer, createTrustAnchor, type GeneratedCa } from './generate.ts';
import { generateKeyPair } from './keys.ts';
import { encodeCertificates } from './pem.ts';
import { verifyChain } from './verify.ts';
import { x509 } from './x509.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const run = promisify(execFile);

let root: GeneratedCa;
let issuer: GeneratedCa;
let ca: CertificateAuthority;

beforeAll(async () => {
  root = await createTrustAnchor({ commonName: 'root.trellis.cluster.local' });
  issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: root });
  ca = CertificateAuthority.fromPem({ certificatePem: issuer.certificatePem, privateKeyPem: issuer.privateKeyPem, trustAnchorsPem: root.certificatePem });
});

const csrFor = async (id = ID) => parseCsr(await createCsr({ keys: generateKeyPair(), dnsNames: [id] }));

describe('CertificateAuthority.issue', () => {
  it('signs a leaf with the contents of contracts §2.3', async () => {
    const now = new Date('2026-11-23T10:00:00.400Z');
    const csr = await csrFor();
    const leaf = ca.issue(csr, ID, { lifetimeMs: DAY, clockSkewMs: 20_000, now });
    const c = new x509.X509Certificate(leaf.der);
    expect(c.subject).toBe(`CN=${ID}`);
    expect(c.issuer).toBe('CN=identity.trellis.cluster.local');
    expect(c.notBefore.toISOString()).toBe('2026-11-23T09:59:40.000Z');
    expect(c.notAfter.toISOString()).toBe('2026-11-24T10:00:20.000Z');
    expect([leaf.notBefore, leaf.notAfter]).toEqual([c.notBefore, c.notAfter]);
    expect(c.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    const san = c.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([{ type: 'dns', value: ID }]);
    expect(san?.critical).toBe(false);
    const ku = c.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(ku?.critical).toBe(true);
    expect(c.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    expect(c.getExtension(x509.BasicConstraintsExtension)).toBeNull();
    const aki = c.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(aki).toBe(new x509.X509Certificate(issuer.certificate).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(Buffer.from(c.publicKey.rawData).equals(Buffer.from(csr.spki))).toBe(true);
    expect(c.serialNumber).toBe(leaf.serial);
  });

  it('issues leaves that chain to the anchor and that openssl verifies', async () => {
    const leaf = ca.issue(await csrFor(), ID, { lifetimeMs: DAY, clockSkewMs: 20_000 });
    expect(verifyChain(leaf.der, ca.chain, ca.trustAnchors).path).toHaveLength(3);
    const dir = await mkdtemp(join(tmpdir(), 'pki-'));
    await writeFile(join(dir, 'leaf.pem'), encodeCertificates([leaf.der]));
    await writeFile(join(dir, 'issuer.pem'), issuer.certificatePem);
    await writeFile(join(dir, 'ca.pem'), root.certificatePem);
    const { stdout } = await run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), '-untrusted', join(dir, 'issuer.pem'), join(dir, 'leaf.pem')]);
    expect(stdout.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);
  });

  it('marks the SAN critical when the CSR subject is empty', async () => {
    const csr = parseCsr(await createCsr({ keys: generateKeyPair(), commonName: '', dnsNames: [ID] }));
    const c = new x509.X509Certificate(ca.issue(csr, ID, { lifetimeMs: DAY, clockSkewMs: 0 }).der);
    expect(c.subject).toBe('');
    expect(c.getExtension(x509.SubjectAlternativeNameExtension)?.critical).toBe(true);
  });

  it('caps notAfter at the issuer expiry', async () => {
    const now = new Date();
    const shortIssuer = await createIssuer({ commonName: 'short', parent: root, notBefore: now, notAfter: new Date(now.getTime() + HOUR) });
    const short = CertificateAuthority.fromParts({ chain: [shortIssuer.certificate], privateKey: shortIssuer.keys.privateKey, trustAnchors: [root.certificate] });
    const leaf = short.issue(await csrFor(), ID, { lifetimeMs: DAY, clockSkewMs: 20_000, now });
    expect(leaf.notAfter).toEqual(new X509Certificate(shortIssuer.certificate).validToDate);
  });

  it('uses positive 16-byte random serial numbers', async () => {
    const csr = await csrFor();
    const serials = new Set(Array.from({ length: 50 }, () => ca.issue(csr, ID, { lifetimeMs: DAY, clockSkewMs: 0 }).serial));
    expect(serials.size).toBe(50);
    for (const s of serials) expect(s).toMatch(/^[4-7][0-9a-f]{31}$/);
  });

  it('takes serial entropy from the injected source', async () => {
    const fixed = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [root.certificate], random: (n) => new Uint8Array(n).fill(0xff) });
    expect(fixed.issue(await csrFor(), ID, { lifetimeMs: DAY, clockSkewMs: 0 }).serial).toBe('7f' + 'ff'.repeat(15));
  });

  it('refuses to sign a CSR with a key other than ECDSA P-256', async () => {
    const csr = parseCsr(await createCsr({ keys: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), dnsNames: [ID] }));
    expect(() => ca.issue(csr, ID, { lifetimeMs: DAY, clockSkewMs: 0 })).toThrow('CSR must hold an ECDSA P-256 key, found ECDSA P-384');
  });
});

describe('CertificateAuthority.fromPem / fromParts validation', () => {
  it('reports the issuer and anchor expiries', () => {
    expect(ca.notAfter).toEqual(new X509Certificate(issuer.certificate).validToDate);
    expect(ca.trustAnchorsNotAfter).toEqual(new X509Certificate(root.certificate).validToDate);
  });

  it('serves the issuer certificate and the rest of crt.pem as the chain, issuer first', async () => {
    const mid = await createIssuer({ commonName: 'mid', parent: root });
    const leafIssuer = await createIssuer({ commonName: 'leaf issuer', parent: mid });
    const a = CertificateAuthority.fromPem({ certificatePem: leafIssuer.certificatePem + mid.certificatePem, privateKeyPem: leafIssuer.privateKeyPem, trustAnchorsPem: root.certificatePem });
    expect(a.chain.map((d) => new X509Certificate(d).subject)).toEqual(['CN=leaf issuer', 'CN=mid']);
  });

  it('accepts a SEC1 "EC PRIVATE KEY" issuer key as step and openssl write it', async () => {
    const sec1 = issuer.keys.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    expect(() => CertificateAuthority.fromPem({ certificatePem: issuer.certificatePem, privateKeyPem: sec1, trustAnchorsPem: root.certificatePem })).not.toThrow();
  });

  it('accepts a root that is both anchor and issuer, as `install` without supplied certificates does', () => {
    expect(() => CertificateAuthority.fromParts({ chain: [root.certificate], privateKey: root.keys.privateKey, trustAnchors: [root.certificate] })).not.toThrow();
  });

  it('refuses an issuer whose key does not match the certificate', async () => {
    const other = await createIssuer({ commonName: 'other', parent: root });
    expect(() => CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: other.keys.privateKey, trustAnchors: [root.certificate] })).toThrow(
      'issuer key does not match the issuer certificate',
    );
  });

  it('refuses an issuer that does not chain to the anchors', async () => {
    const stranger = await createTrustAnchor({ commonName: 'stranger' });
    const rogue = await createIssuer({ commonName: 'rogue', parent: stranger });
    expect(() => CertificateAuthority.fromParts({ chain: [rogue.certificate], privateKey: rogue.keys.privateKey, trustAnchors: [root.certificate] })).toThrow(
      expect.objectContaining({ code: 'TRELLIS_ERR_PKI_CHAIN' }),
    );
  });

  it('refuses an expired issuer', async () => {
    const past = new Date(Date.now() - 10 * HOUR);
    const old = await createIssuer({ commonName: 'old', parent: root, notBefore: past, notAfter: new Date(past.getTime() + HOUR) });
    expect(() => CertificateAuthority.fromParts({ chain: [old.certificate], privateKey: old.keys.privateKey, trustAnchors: [root.certificate] })).toThrow(/expired/);
  });

  it('refuses an issuer certificate that is not a CA', async () => {
    const leaf = ca.issue(await csrFor(), ID, { lifetimeMs: DAY, clockSkewMs: 0 });
    expect(() => CertificateAuthority.fromParts({ chain: [leaf.der, issuer.certificate], privateKey: generateKeyPair().privateKey, trustAnchors: [root.certificate] })).toThrow(
      /key does not match/,
    );
    const keys = generateKeyPair();
    const leafWithKey = ca.issue(parseCsr(await createCsr({ keys, dnsNames: [ID] })), ID, { lifetimeMs: DAY, clockSkewMs: 0 });
    expect(() => CertificateAuthority.fromParts({ chain: [leafWithKey.der, issuer.certificate], privateKey: keys.privateKey, trustAnchors: [root.certificate] })).toThrow(
      'issuer certificate is not a CA (basicConstraints CA:TRUE is missing)',
    );
  });

  it('accepts a P-256 issuer under an RSA trust anchor, as Linkerd allows for supplied anchors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pki-'));
    const f = (n: string) => join(dir, n);
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root.key'), '-subj', '/CN=rsa-root', '-days', '2',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', f('root.crt')]);
    await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('issuer.key'), '-subj', '/CN=ec-issuer', '-out', f('issuer.csr')]);
    await writeFile(f('ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
    await run('openssl', ['x509', '-req', '-in', f('issuer.csr'), '-CA', f('root.crt'), '-CAkey', f('root.key'), '-CAcreateserial', '-days', '1', '-sha256', '-extfile', f('ext'), '-out', f('issuer.crt')]);
    const [certificatePem, privateKeyPem, trustAnchorsPem] = await Promise.all(['issuer.crt', 'issuer.key', 'root.crt'].map((n) => readFile(f(n), 'utf8')));
    const a = CertificateAuthority.fromPem({ certificatePem: certificatePem as string, privateKeyPem: privateKeyPem as string, trustAnchorsPem: trustAnchorsPem as string });
    const leaf = a.issue(await csrFor(), ID, { lifetimeMs: DAY, clockSkewMs: 0 });
    expect(verifyChain(leaf.der, a.chain, a.trustAnchors).path.map((c) => c.subject)).toEqual([`CN=${ID}`, 'CN=ec-issuer', 'CN=rsa-root']);
    // The leaf's AKI is the openssl-made issuer's SKI.
    const ski = new x509.X509Certificate(a.chain[0] as Uint8Array).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(ski).toMatch(/^[0-9a-f]{40}$/);
    expect(new x509.X509Certificate(leaf.der).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(ski);
  });

  it('refuses a P-384 issuer, as linkerd check does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pki-'));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'k'), '-subj', '/CN=p384',
      '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE', '-out', join(dir, 'c')]);
    const pem = await readFile(join(dir, 'c'), 'utf8');
    const key = await readFile(join(dir, 'k'), 'utf8');
    expect(() => CertificateAuthority.fromPem({ certificatePem: pem, privateKeyPem: key, trustAnchorsPem: pem })).toThrow(
      /must (hold|be) an ECDSA P-256 key, found ECDSA P-384/,
    );
  });

  it('names the file-level problem for unreadable inputs without echoing the key', () => {
    expect(() => CertificateAuthority.fromPem({ certificatePem: 'x', privateKeyPem: issuer.privateKeyPem, trustAnchorsPem: root.certificatePem })).toThrow(
      'issuer certificate: no PEM CERTIFICATE block found',
    );
    const secret = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n';
    let message = '';
    try {
      CertificateAuthority.fromPem({ certificatePem: issuer.certificatePem, privateKeyPem: secret, trustAnchorsPem: root.certificatePem });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('issuer key is not a PEM private key (PKCS#8 or SEC1 EC)');
  });
});
