// What an upgrade keeps from the running install: its values (ConfigMap trellis-config), the issuer's certificate
// and key (Secret trellis-identity-issuer) and the webhooks' serving certificates, so that the new manifests
// neither re-key the mesh nor change the CA bundles the API server trusts.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isPlainObject } from '@trellis/inject';
import { ClusterConfigError, fetchClusterValues } from '../cluster/values.ts';
import type { ClusterSelection } from '../cluster/kubeconfig.ts';

export const ISSUER_SECRET = 'trellis-identity-issuer';
/** Webhook TLS Secrets and the values block each belongs to. */
export const WEBHOOK_SECRETS = [
  ['trellis-proxy-injector-k8s-tls', 'proxyInjector'],
  ['trellis-sp-validator-k8s-tls', 'profileValidator'],
  ['trellis-policy-validator-k8s-tls', 'policyValidator'],
] as const;

async function secretData(kc: KubeConfig, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function block(values: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let v = values;
  for (const k of path) {
    if (!isPlainObject(v[k])) v[k] = {};
    v = v[k] as Record<string, unknown>;
  }
  return v;
}

/** The installed values with the private keys put back, ready to render the same install again. */
export async function installedValues(kc: KubeConfig, sel: ClusterSelection & { namespace: string }): Promise<Record<string, unknown>> {
  const fetched = await fetchClusterValues({ ...sel, hint: '' });
  if (!isPlainObject(fetched)) throw new ClusterConfigError(`ConfigMap ${sel.namespace}/trellis-config holds no values mapping`);
  const values = structuredClone(fetched);
  // The release's own version follows the CLI doing the upgrade.
  delete values['linkerdVersion'];
  const identity = block(values, ['identity']);
  const issuerScheme = isPlainObject(identity['issuer']) ? (identity['issuer'] as Record<string, unknown>)['scheme'] : undefined;
  if (identity['externalCA'] !== true && (issuerScheme === undefined || issuerScheme === 'linkerd.io/tls')) {
    const issuer = await secretData(kc, sel.namespace, ISSUER_SECRET);
    if (!issuer?.['crt.pem'] || !issuer['key.pem']) throw new ClusterConfigError(`Secret ${sel.namespace}/${ISSUER_SECRET} is missing or has no crt.pem and key.pem: the issuer cannot be kept`);
    const tls = block(values, ['identity', 'issuer', 'tls']);
    tls['crtPEM'] = issuer['crt.pem'];
    tls['keyPEM'] = issuer['key.pem'];
  }
  for (const [secret, key] of WEBHOOK_SECRETS) {
    const v = block(values, [key]);
    if (v['externalSecret'] === true) continue;
    const tls = await secretData(kc, sel.namespace, secret);
    if (!tls?.['tls.crt'] || !tls['tls.key']) continue;
    v['crtPEM'] = tls['tls.crt'];
    v['keyPEM'] = tls['tls.key'];
    if (!v['caBundle']) v['caBundle'] = tls['tls.crt'];
  }
  return values;
}
