// Test PKI material laid out the way identity reads it in a pod: <dir>/issuer/{crt.pem,key.pem} and
// <dir>/trust-roots/ca-bundle.crt. Rotation replaces files the way the kubelet does: write a new
// timestamped directory, then atomically swap the `..data` symlink the visible names point through.
import { mkdir, mkdtemp, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuer, createTrustAnchor, type GeneratedCa } from '@trellis/pki';

export interface IdentityDirs {
  readonly root: string;
  readonly issuerDir: string;
  readonly certificate: string;
  readonly key: string;
  readonly trustAnchors: string;
}

export async function makeAnchorAndIssuer(opts: { issuerNotAfter?: Date; issuerNotBefore?: Date } = {}) {
  const anchor = await createTrustAnchor({ commonName: 'root.trellis.cluster.local' });
  const issuer = await createIssuer({
    commonName: 'identity.trellis.cluster.local',
    parent: anchor,
    ...(opts.issuerNotBefore ? { notBefore: opts.issuerNotBefore } : {}),
    ...(opts.issuerNotAfter ? { notAfter: opts.issuerNotAfter } : {}),
  });
  return { anchor, issuer };
}

let generation = 0;

/** Writes `files` into `dir` through a `..data` symlink, replacing the previous generation atomically. */
export async function writeAtomically(dir: string, files: Record<string, string>): Promise<void> {
  const gen = join(dir, `..gen-${process.pid}-${++generation}`);
  await mkdir(gen);
  for (const [name, text] of Object.entries(files)) await writeFile(join(gen, name), text);
  const tmpLink = join(dir, `..data_tmp`);
  await symlink(gen, tmpLink);
  await rename(tmpLink, join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      await symlink(join('..data', name), join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export async function writeIdentityDirs(anchor: GeneratedCa, issuer: GeneratedCa, root?: string): Promise<IdentityDirs> {
  const base = root ?? (await mkdtemp(join(tmpdir(), 'identity-')));
  const issuerDir = join(base, 'issuer');
  const rootsDir = join(base, 'trust-roots');
  await mkdir(issuerDir, { recursive: true });
  await mkdir(rootsDir, { recursive: true });
  await writeAtomically(issuerDir, { 'crt.pem': issuer.certificatePem, 'key.pem': issuer.privateKeyPem });
  await writeAtomically(rootsDir, { 'ca-bundle.crt': anchor.certificatePem });
  return {
    root: base,
    issuerDir,
    certificate: join(issuerDir, 'crt.pem'),
    key: join(issuerDir, 'key.pem'),
    trustAnchors: join(rootsDir, 'ca-bundle.crt'),
  };
}

export async function rotateIssuer(dirs: IdentityDirs, issuer: GeneratedCa, chainPem = ''): Promise<void> {
  await writeAtomically(dirs.issuerDir, { 'crt.pem': issuer.certificatePem + chainPem, 'key.pem': issuer.privateKeyPem });
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
