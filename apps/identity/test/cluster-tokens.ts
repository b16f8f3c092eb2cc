// Real service-account tokens from the local API server for cluster tests: a unique namespace with
// service accounts, TokenRequests for an audience, and (with the cluster's own signing key, which these
// tests own) re-signed tokens with changed claims such as an expiry in the past.
import { createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { requestToken } from '@trellis/k8s';

export async function namespaceWithServiceAccounts(kc: KubeConfig, prefix: string, names: readonly string[]): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `${prefix}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  for (const name of names) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  return ns;
}

export function tokenFor(kc: KubeConfig, ns: string, sa: string, audience = 'identity.l5d.io'): Promise<string> {
  return requestToken(kc, ns, sa, { audiences: [audience], expirationSeconds: 3600 });
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The token with its claims changed, signed again with the cluster's service-account key. */
export function resign(clusterDir: string, token: string, change: (claims: Record<string, unknown>) => void): string {
  if (!clusterDir) throw new Error('cluster tests need the cluster directory (TRELLIS_CLUSTER_DIR) to mint tokens');
  const state = JSON.parse(readFileSync(join(clusterDir, 'state.json'), 'utf8')) as { certs: { saKey: string } };
  const [h = '', p = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  change(claims);
  const input = `${h}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(readFileSync(state.certs.saKey)))}`;
}
