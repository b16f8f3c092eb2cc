// A Server's HTTP local rate limit (docs/reference/linkerd-contracts.md §1.9 HttpLocalRateLimit; Linkerd's HTTPLocalRateLimitPolicy):
// a total limit over every request to the server, a limit per client identity (clients without one share a
// single limit), and overrides that replace the per-identity limit for named identities. Each limit admits
// `requestsPerSecond` requests in any one second and refills continuously (a bucket of that many tokens, as
// Linkerd's per-second quota allows a burst of its size). Checked after a request is authorized and its route
// filters applied; a refused request gets 429 (gRPC RESOURCE_EXHAUSTED). A policy update starts fresh limits.
import type { inbound } from '@trellis/proto';
import { metaOf, type Meta } from './authz.ts';

export type RateLimitScope = 'total' | 'identity';

class Bucket {
  readonly rps: number;
  #tokens: number;
  #at: number;
  constructor(rps: number, now: number) {
    this.rps = rps;
    this.#tokens = rps;
    this.#at = now;
  }
  take(now: number): boolean {
    this.#tokens = Math.min(this.rps, this.#tokens + ((now - this.#at) * this.rps) / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class LocalRateLimit {
  readonly meta: Meta | undefined;
  readonly #now: () => number;
  readonly #total: Bucket | undefined;
  readonly #perIdentityRps: number;
  readonly #perIdentity = new Map<string, Bucket>();
  readonly #overrides = new Map<string, Bucket>();

  constructor(l: inbound.HttpLocalRateLimit, now: () => number = () => performance.now()) {
    this.#now = now;
    this.meta = metaOf(l.metadata);
    const t = now();
    const total = l.total?.requestsPerSecond ?? 0;
    this.#total = total > 0 ? new Bucket(total, t) : undefined;
    this.#perIdentityRps = l.identity?.requestsPerSecond ?? 0;
    for (const o of l.overrides) {
      const rps = o.limit?.requestsPerSecond ?? 0;
      if (rps <= 0) continue;
      // The identities of one override share its limit.
      const shared = new Bucket(rps, t);
      for (const id of o.clients?.identities ?? []) if (id.name) this.#overrides.set(id.name, shared);
    }
  }

  /** Whether any limit is set (an empty message limits nothing). */
  get active(): boolean {
    return this.#total !== undefined || this.#perIdentityRps > 0 || this.#overrides.size > 0;
  }

  /** The scope whose limit refuses this request, or undefined when it may go on. `clientId`: '' without one. */
  check(clientId: string): RateLimitScope | undefined {
    const now = this.#now();
    if (this.#total && !this.#total.take(now)) return 'total';
    const override = clientId ? this.#overrides.get(clientId) : undefined;
    if (override) return override.take(now) ? undefined : 'identity';
    if (this.#perIdentityRps > 0) {
      let b = this.#perIdentity.get(clientId);
      if (!b) this.#perIdentity.set(clientId, (b = new Bucket(this.#perIdentityRps, now)));
      if (!b.take(now)) return 'identity';
    }
    return undefined;
  }
}

/** The rate limit of a Server's protocol, when it sets one. */
export function rateLimitOf(p: inbound.ProxyProtocol['kind'], now?: () => number): LocalRateLimit | undefined {
  let l: inbound.HttpLocalRateLimit | undefined;
  if (p?.$case === 'detect') l = p.value.httpLocalRateLimit;
  else if (p?.$case === 'http1' || p?.$case === 'http2') l = p.value.localRateLimit;
  if (!l) return undefined;
  const rl = new LocalRateLimit(l, now);
  return rl.active ? rl : undefined;
}
