// What Certify needs from Kubernetes: one TokenReview. Behind an interface so the service logic is tested
// without an API server, and the transport (kubernetes/token-review.ts) is tested on its own.

/** The audience proxies' projected tokens carry (contracts §2.1). */
export const IDENTITY_AUDIENCE = 'identity.l5d.io';

export interface TokenReview {
  readonly authenticated: boolean;
  readonly username?: string;
  /** The API server's reason when the token is not valid. */
  readonly error?: string;
}

export interface TokenReviewer {
  /** Resolves with the review; rejects (TokenReviewFailedError) when the review could not be made. */
  review(token: string, audiences: readonly string[]): Promise<TokenReview>;
}
