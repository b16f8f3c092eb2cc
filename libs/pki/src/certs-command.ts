// `trellis-certs`: writes a trust anchor and an issuer for installs and tests, the files Linkerd's docs make
// with `step certificate create ... --profile root-ca` and `... --profile intermediate-ca`:
// ca.crt, ca.key, issuer.crt, issuer.key. With --ca-cert/--ca-key it signs a new issuer under an existing
// anchor instead (issuer rotation).
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, parseDuration, runCommand, type CommandSpec } from '@trellis/config';
import { createIssuer, createTrustAnchor, type GeneratedCa } from './generate.ts';
import { parsePrivateKey, spkiOf, type KeyPair } from './keys.ts';
import { decodeCertificates } from './pem.ts';

export const certsCommand: CommandSpec = {
  name: 'trellis-certs',
  summary: 'trellis-certs: writes a trust anchor (ca.crt, ca.key) and an issuer (issuer.crt, issuer.key) for the mesh identity.',
  flags: {
    out: { type: 'string', description: 'directory to write the files into (created if missing)', default: '.', value: 'DIR' },
    'trust-domain': { type: 'string', description: 'trust domain the names are derived from', default: 'cluster.local', value: 'DOMAIN' },
    'anchor-cn': { type: 'string', description: 'trust anchor common name (default root.trellis.<trust-domain>)', value: 'NAME' },
    'issuer-cn': { type: 'string', description: 'issuer common name (default identity.trellis.<trust-domain>)', value: 'NAME' },
    'anchor-lifetime': { type: 'string', description: 'trust anchor validity', default: '87600h', value: 'DURATION' },
    'issuer-lifetime': { type: 'string', description: 'issuer validity', default: '8760h', value: 'DURATION' },
    'ca-cert': { type: 'string', description: 'sign the issuer with this existing anchor instead of making one (needs --ca-key)', value: 'FILE' },
    'ca-key': { type: 'string', description: 'private key of --ca-cert (PKCS#8 or SEC1 PEM)', value: 'FILE' },
    force: { type: 'boolean', description: 'overwrite existing files', default: false },
  },
};

export interface CertsResult {
  readonly files: readonly string[];
}

/** Runs the command with parsed flag values; returns the files written. Throws ConfigError on bad input. */
export async function writeCerts(values: Readonly<Record<string, unknown>>, now = new Date()): Promise<CertsResult> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const out = str('out') ?? '.';
  const td = str('trust-domain') ?? 'cluster.local';
  const anchorLifetime = parseDuration('--anchor-lifetime', str('anchor-lifetime') ?? '87600h');
  const issuerLifetime = parseDuration('--issuer-lifetime', str('issuer-lifetime') ?? '8760h');
  const caCert = str('ca-cert');
  const caKey = str('ca-key');
  if ((caCert === undefined) !== (caKey === undefined)) throw new ConfigError('--ca-cert and --ca-key go together');

  let anchor: GeneratedCa;
  const files: Array<[string, string, number]> = [];
  if (caCert !== undefined && caKey !== undefined) {
    anchor = await loadAnchor(caCert, caKey);
  } else {
    anchor = await createTrustAnchor({
      commonName: str('anchor-cn') ?? `root.trellis.${td}`,
      notBefore: now,
      notAfter: new Date(now.getTime() + anchorLifetime),
    });
    files.push(['ca.crt', anchor.certificatePem, 0o644], ['ca.key', anchor.privateKeyPem, 0o600]);
  }
  const issuer = await createIssuer({
    commonName: str('issuer-cn') ?? `identity.trellis.${td}`,
    parent: anchor,
    notBefore: now,
    notAfter: new Date(Math.min(now.getTime() + issuerLifetime, new X509Certificate(anchor.certificate).validToDate.getTime())),
  });
  files.push(['issuer.crt', issuer.certificatePem, 0o644], ['issuer.key', issuer.privateKeyPem, 0o600]);

  await mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const [name, text, mode] of files) {
    const path = join(out, name);
    try {
      await writeFile(path, text, { mode, flag: values['force'] === true ? 'w' : 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${path} already exists (use --force to overwrite)`);
      throw err;
    }
    written.push(path);
  }
  return { files: written };
}

async function loadAnchor(certPath: string, keyPath: string): Promise<GeneratedCa> {
  const read = async (p: string, flag: string) => {
    try {
      return await readFile(p, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${flag} ${p}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const certificatePem = await read(certPath, '--ca-cert');
  const privateKeyPem = await read(keyPath, '--ca-key');
  let certificate: Uint8Array;
  let keys: KeyPair;
  try {
    certificate = decodeCertificates(certificatePem, `--ca-cert ${certPath}`)[0] as Uint8Array;
    const privateKey = parsePrivateKey(privateKeyPem, `--ca-key ${keyPath}`);
    keys = { privateKey, publicKey: createPublicKey(privateKey) };
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const certKey = new X509Certificate(certificate).publicKey;
  if (!Buffer.from(spkiOf(certKey)).equals(Buffer.from(spkiOf(keys.privateKey)))) {
    throw new ConfigError(`--ca-key ${keyPath} does not match --ca-cert ${certPath}`);
  }
  return { certificate, keys, certificatePem, privateKeyPem };
}

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand(certsCommand, argv, async (cli) => {
    const { files } = await writeCerts(cli.values);
    for (const f of files) process.stdout.write(`wrote ${f}\n`);
  });
}
