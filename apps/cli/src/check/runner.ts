// Runs categories in order. A check that throws fails with its message (a check never crashes the command);
// retryable failures are re-run until the deadline; a fatal failure skips everything after it.
import type { Category, CheckOutcome, CheckReport } from './model.ts';

export interface RunOptions {
  /** Epoch ms until which retryable checks are re-run. */
  readonly deadline: number;
  readonly retryEveryMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called as each result is final, so output streams while later checks run. */
  readonly onResult?: (r: CheckReport) => void;
  /** Called before each wait between retries: the check waited on, its last failure and the ms left. */
  readonly onWait?: (description: string, outcome: CheckOutcome, msLeft: number) => void;
}

async function attempt<C>(run: (ctx: C) => Promise<CheckOutcome>, ctx: C): Promise<CheckOutcome> {
  try {
    return await run(ctx);
  } catch (err) {
    return { status: 'fail', message: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

export async function runChecks<C>(categories: readonly Category<C>[], ctx: C, opts: RunOptions): Promise<CheckReport[]> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const reports: CheckReport[] = [];
  for (const category of categories) {
    if (category.when && !category.when(ctx)) continue;
    for (const check of category.checks) {
      let outcome = await attempt(check.run, ctx);
      while (outcome.status === 'fail' && check.retry && now() < opts.deadline) {
        opts.onWait?.(check.description, outcome, opts.deadline - now());
        await sleep(Math.min(opts.retryEveryMs ?? 1000, Math.max(0, opts.deadline - now())));
        outcome = await attempt(check.run, ctx);
      }
      const report = { category: category.id, description: check.description, outcome };
      reports.push(report);
      opts.onResult?.(report);
      if (outcome.status === 'fail' && check.fatal) return reports;
    }
  }
  return reports;
}

export const succeeded = (reports: readonly CheckReport[]) => reports.every((r) => r.outcome.status !== 'fail');
