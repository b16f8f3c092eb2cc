// Each tap is authorized with a SubjectAccessReview for the user: verb watch on the `tap` subresource of the
// target in group tap.linkerd.io (what Linkerd's tap-admin ClusterRole grants). Refusals are 403 with the reason.
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TapUser } from './authn.ts';
import { TapApiError } from './errors.ts';
import type { TapTarget } from './resources.ts';

export const TAP_GROUP = 'tap.linkerd.io';
export const TAP_VERSION = 'v1alpha1';

export type Authorizer = (user: TapUser, target: TapTarget) => Promise<void>;

export function subjectAccessReviewer(kc: KubeConfig): Authorizer {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return async (user, t) => {
    const review = await api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.user,
          groups: [...user.groups],
          extra: user.extra as Record<string, string[]>,
          resourceAttributes: {
            group: TAP_GROUP,
            version: TAP_VERSION,
            resource: t.resource,
            subresource: 'tap',
            verb: 'watch',
            namespace: t.resource === 'namespaces' ? t.namespace : t.namespace,
            ...(t.name ? { name: t.name } : t.resource === 'namespaces' ? { name: t.namespace } : {}),
          },
        },
      },
    });
    if (review.status?.allowed) return;
    const why = review.status?.reason || review.status?.evaluationError || 'no RBAC rule allows it';
    throw new TapApiError(403, 'Forbidden', `tap authorization failed (not authorized to access ${t.resource}.${TAP_GROUP}): user "${user.user}" cannot watch ${t.resource}/tap${t.name ? ` "${t.name}"` : ''} in namespace "${t.namespace}": ${why}`);
  };
}
