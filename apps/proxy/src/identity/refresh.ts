// When to ask for the next certificate (docs/reference/linkerd-proxy.md §3 "Refresh timing"): 70 % of the time left on the
// current certificate, clamped to [min, max]. After a failure the same rule runs against the old expiry, so
// retries come sooner as expiry nears and every `min` once it has passed.
export const REFRESH_FRACTION = 0.7;

export function refreshDelayMs(expiry: Date | undefined, now: number, minMs: number, maxMs: number): number {
  if (expiry === undefined) return minMs;
  const left = expiry.getTime() - now;
  const delay = Math.floor(left * REFRESH_FRACTION);
  return Math.min(maxMs, Math.max(minMs, delay));
}
