// What a check is: a description the user reads, a function that answers ok / warn / fail with the reason, and
// whether a failure is worth retrying under --wait (state still converging) or stops everything after it (fatal).
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckOutcome {
  readonly status: CheckStatus;
  /** Why it is not ok, one fact per line (pod names, expiry dates). */
  readonly message?: string;
  /** What to run or change to fix it. */
  readonly hint?: string;
}

export interface Check<C> {
  readonly description: string;
  /** A failure here makes every later category meaningless (no API, no control plane). */
  readonly fatal?: boolean;
  /** Failures that time can fix (pods starting); retried until --wait runs out. */
  readonly retry?: boolean;
  readonly run: (ctx: C) => Promise<CheckOutcome>;
}

export interface Category<C> {
  readonly id: string;
  readonly checks: readonly Check<C>[];
  /** Decided when the category's turn comes, from what earlier checks found (e.g. the install's values). */
  readonly when?: (ctx: C) => boolean;
}

export interface CheckReport {
  readonly category: string;
  readonly description: string;
  readonly outcome: CheckOutcome;
}

export const ok: CheckOutcome = { status: 'ok' };
export const fail = (message: string, hint?: string): CheckOutcome => ({ status: 'fail', message, ...(hint ? { hint } : {}) });
export const warn = (message: string, hint?: string): CheckOutcome => ({ status: 'warn', message, ...(hint ? { hint } : {}) });
