import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCsr } from '@trellis/pki';
import { CSR_FILE, identityEnv, KEY_FILE, writeIdentity } from './identity.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

// 96 characters: a long service account in a long namespace, as Kubernetes allows.
const LONG = 'a-service-account-with-a-long-name.a-namespace-too.serviceaccount.identity.trellis.cluster.local';

describe('the proxy image entrypoint', () => {
  it('writes a PKCS#8 P-256 key and a CSR whose CN and only DNS SAN are the identity, past 64 characters', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'l5d-entry-')), 'end-entity');
    dirs.push(dir);
    expect(LONG.length).toBeGreaterThan(64);
    await writeIdentity(identityEnv({ LINKERD2_PROXY_IDENTITY_DIR: dir, LINKERD2_PROXY_IDENTITY_LOCAL_NAME: LONG }));
    const key = createPrivateKey({ key: await readFile(join(dir, KEY_FILE)), format: 'der', type: 'pkcs8' });
    expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'prime256v1']);
    expect((await stat(join(dir, KEY_FILE))).mode & 0o777).toBe(0o600);
    const csr = parseCsr(await readFile(join(dir, CSR_FILE)));
    expect([csr.commonNames, csr.dnsNames]).toEqual([[LONG], [LONG]]);
    // The CSR carries the key the file holds.
    expect(createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(Buffer.from(csr.publicKey.export({ type: 'spki', format: 'der' })))).toBe(true);
  });

  it('names the variable that is missing or not a DNS name', () => {
    expect(() => identityEnv({ LINKERD2_PROXY_IDENTITY_DIR: '/x' })).toThrow('LINKERD2_PROXY_IDENTITY_LOCAL_NAME is not set');
    expect(() => identityEnv({ LINKERD2_PROXY_IDENTITY_LOCAL_NAME: 'web.ns' })).toThrow('LINKERD2_PROXY_IDENTITY_DIR is not set');
    expect(() => identityEnv({ LINKERD2_PROXY_IDENTITY_DIR: '/x', LINKERD2_PROXY_IDENTITY_LOCAL_NAME: 'web ns' })).toThrow('"web ns" is not a DNS name');
  });
});
