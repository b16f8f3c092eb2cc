// Helpers for cluster tests: a unique namespace per test file, and direct access to the local cluster's
// service-account signing key (the tests own that cluster) to mint tokens the API server would issue.
import { createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Re-signs a real service-account token with its claims changed, using the cluster's own signing key. */
export function resignToken(clusterDir: string, token: string, change: (claims: Record<string, unknown>) => void): string {
  const state = JSON.parse(readFileSync(join(clusterDir, 'state.json'), 'utf8')) as { certs: { saKey: string } };
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
  change(claims);
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(signingInput).sign(readFileSync(state.certs.saKey));
  return `${signingInput}.${b64url(sig)}`;
}

