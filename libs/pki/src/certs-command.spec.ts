import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from './authority.ts';
import { writeCerts } from './certs-command.ts';

const run = promisify(execFile);
const tmp = () => mkdtemp(join(tmpdir(), 'certs-'));
const read = (dir: string, f: string) => readFile(join(dir, f), 'utf8');

describe('trellis-certs', () => {
  it('writes ca.crt, ca.key, issuer.crt and issuer.key that identity accepts', async () => {
    const out = await tmp();
    const now = new Date();
    const { files } = await writeCerts({ out, 'trust-domain': 'example.org' }, now);
    expect(files.map((f) => f.slice(out.length + 1))).toEqual(['ca.crt', 'ca.key', 'issuer.crt', 'issuer.key']);
    const ca = new X509Certificate(await read(out, 'ca.crt'));
    const issuer = new X509Certificate(await read(out, 'issuer.crt'));
    expect([ca.subject, issuer.subject, issuer.issuer]).toEqual(['CN=root.trellis.example.org', 'CN=identity.trellis.example.org', 'CN=root.trellis.example.org']);
    expect(issuer.validToDate.getTime() - issuer.validFromDate.getTime()).toBe(8760 * 3_600_000);
    expect(ca.validToDate.getTime() - ca.validFromDate.getTime()).toBe(87600 * 3_600_000);
    expect((await stat(join(out, 'issuer.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(out, 'ca.key'))).mode & 0o777).toBe(0o600);
    expect(() =>
      CertificateAuthority.fromPem({ certificatePem: issuer.toString(), privateKeyPem: '', trustAnchorsPem: ca.toString() }),
    ).toThrow(/issuer key/);
    const authority = CertificateAuthority.fromPem({
      certificatePem: issuer.toString(),
      privateKeyPem: (await read(out, 'issuer.key')),
      trustAnchorsPem: ca.toString(),
    });
    expect(authority.chain).toHaveLength(1);
    const { stdout } = await run('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'issuer.crt')]);
    expect(stdout).toContain(': OK');
  });

  it('signs a new issuer under an existing anchor with --ca-cert/--ca-key, leaving the anchor alone', async () => {
    const first = await tmp();
    await writeCerts({ out: first });
    const second = await tmp();
    const { files } = await writeCerts({ out: second, 'ca-cert': join(first, 'ca.crt'), 'ca-key': join(first, 'ca.key'), 'issuer-cn': 'rotated' });
    expect(files.map((f) => f.slice(second.length + 1))).toEqual(['issuer.crt', 'issuer.key']);
    const { stdout } = await run('openssl', ['verify', '-CAfile', join(first, 'ca.crt'), join(second, 'issuer.crt')]);
    expect(stdout).toContain(': OK');
  });

  it('refuses to overwrite files unless --force is given', async () => {
    const out = await tmp();
    await writeCerts({ out });
    await expect(writeCerts({ out })).rejects.toThrow(`${join(out, 'ca.crt')} already exists (use --force to overwrite)`);
    await expect(writeCerts({ out, force: true })).resolves.toBeDefined();
  });

  it('names the flag and the value for bad input', async () => {
    await expect(writeCerts({ out: await tmp(), 'issuer-lifetime': '1year' })).rejects.toThrow('invalid value "1year" for --issuer-lifetime');
    await expect(writeCerts({ out: await tmp(), 'ca-cert': '/nonexistent' })).rejects.toThrow('--ca-cert and --ca-key go together');
    await expect(writeCerts({ out: await tmp(), 'ca-cert': '/nonexistent/ca.crt', 'ca-key': '/nonexistent/ca.key' })).rejects.toThrow(
      'cannot read --ca-cert /nonexistent/ca.crt: ENOENT',
    );
  });

  it('runs as a command: node libs/pki/src/certs-cli.ts --out DIR', async () => {
    const out = await tmp();
    const { stdout } = await run(process.execPath, [join(import.meta.dirname, 'certs-cli.ts'), '--out', out]);
    expect(stdout).toBe(['ca.crt', 'ca.key', 'issuer.crt', 'issuer.key'].map((f) => `wrote ${join(out, f)}\n`).join(''));
  });
});
