// Fail fast at startup when identity may not create TokenReviews: without that every Certify would fail.
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function canCreateTokenReviews(kc: KubeConfig): Promise<{ allowed: boolean; reason?: string }> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const r = await api.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' } } },
  });
  return { allowed: r.status?.allowed === true, ...(r.status?.reason ? { reason: r.status.reason } : {}) };
}
