// What Linkerd's proxy image does before its proxy starts (the proxy reads a key and a CSR, it makes neither):
// an ECDSA P-256 key as PKCS#8 DER in key.p8 and a CSR in csr.der whose subject CN and one DNS SAN are the
// proxy's identity name (which may be longer than the 64 characters X.509 suggests for a CN), both in the
// identity directory.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCsr, generateKeyPair, privateKeyToPkcs8, type KeyPair } from '@trellis/pki';

export const KEY_FILE = 'key.p8';
export const CSR_FILE = 'csr.der';

/** The environment the entrypoint reads, each value checked: a missing one names the variable. */
export interface IdentityEnv {
  readonly dir: string;
  readonly name: string;
}

export class EntrypointError extends Error {
  readonly code = 'TRELLIS_ERR_LINKERD_ENTRYPOINT';
}

export function identityEnv(env: Readonly<Record<string, string | undefined>>): IdentityEnv {
  const get = (k: string) => {
    const v = env[k];
    if (v === undefined || v.trim() === '') throw new EntrypointError(`${k} is not set: the proxy's identity needs it`);
    return v.trim();
  };
  const name = get('LINKERD2_PROXY_IDENTITY_LOCAL_NAME');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(name)) {
    throw new EntrypointError(`LINKERD2_PROXY_IDENTITY_LOCAL_NAME ${JSON.stringify(name)} is not a DNS name`);
  }
  return { dir: get('LINKERD2_PROXY_IDENTITY_DIR'), name };
}

/** Writes key.p8 (mode 0600) and csr.der for `name` into `dir`, creating it if needed. */
export async function writeIdentity(id: IdentityEnv, keys: KeyPair = generateKeyPair()): Promise<void> {
  const csr = await createCsr({ keys, commonName: id.name, dnsNames: [id.name] });
  await mkdir(id.dir, { recursive: true });
  await writeFile(join(id.dir, KEY_FILE), privateKeyToPkcs8(keys.privateKey), { mode: 0o600 });
  await writeFile(join(id.dir, CSR_FILE), csr);
}
