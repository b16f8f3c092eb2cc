// Identity names: `<sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>` (contracts §2.2).

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDns1123Label(s: string): boolean {
  return DNS1123_LABEL.test(s);
}

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The service account a TokenReview username names: exactly `system:serviceaccount:<ns>:<name>` with both
 * parts DNS-1123 labels. Anything else (a user, a node, a malformed name) is undefined.
 */
export function serviceAccountFromUsername(username: string): ServiceAccountRef | undefined {
  const parts = username.split(':');
  if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount') return undefined;
  const [, , namespace = '', name = ''] = parts;
  return isDns1123Label(namespace) && isDns1123Label(name) ? { namespace, name } : undefined;
}

export function identityName(sa: ServiceAccountRef, controlPlaneNamespace: string, trustDomain: string): string {
  return `${sa.name}.${sa.namespace}.serviceaccount.identity.${controlPlaneNamespace}.${trustDomain}`;
}
