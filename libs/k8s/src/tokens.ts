// Service-account tokens: TokenRequest (issue a token for an audience) and TokenReview (check one).
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface TokenReviewResult {
  readonly authenticated: boolean;
  /** e.g. "system:serviceaccount:<ns>:<sa>" when authenticated. */
  readonly username?: string;
  readonly audiences?: readonly string[];
  readonly error?: string;
}

export async function reviewToken(kc: KubeConfig, token: string, audiences: readonly string[]): Promise<TokenReviewResult> {
  const api = kc.makeApiClient(AuthenticationV1Api);
  const review = await api.createTokenReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...audiences] } },
  });
  const s = review.status ?? {};
  return {
    authenticated: s.authenticated === true,
    ...(s.user?.username !== undefined && { username: s.user.username }),
    ...(s.audiences !== undefined && { audiences: s.audiences }),
    ...(s.error !== undefined && { error: s.error }),
  };
}

export async function requestToken(
  kc: KubeConfig,
  namespace: string,
  serviceAccount: string,
  opts: { audiences: readonly string[]; expirationSeconds?: number },
): Promise<string> {
  const api = kc.makeApiClient(CoreV1Api);
  const tr = await api.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [...opts.audiences], expirationSeconds: opts.expirationSeconds ?? 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return token;
}

/** Parses "system:serviceaccount:<ns>:<sa>"; undefined for any other username. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? { namespace: m[1] as string, name: m[2] as string } : undefined;
}
