// The vote bot: steady traffic through web, one vote per tick for a random emoji of the catalogue, and every
// `doughnutEvery`-th vote for the doughnut, so the demo's failures show up at a steady rate. It counts outcomes so
// that a test can see traffic flowing.
import { BROKEN_SHORTCODE } from '../emojis.ts';
import { newTraceHeaders } from '../trace.ts';

export interface BotStats {
  ok: number;
  failed: number;
  errors: number;
}

export interface BotOptions {
  /** host:port of web. */
  readonly web: string;
  readonly intervalMs: number;
  readonly random?: () => number;
  /** Every n-th vote goes to the doughnut (0 = never on purpose). */
  readonly doughnutEvery?: number;
  readonly onResult?: (choice: string, status: number | 'error') => void;
}

/** One round: fetch the list, vote for one (a random one, or `choice`); resolves with the vote's HTTP status. */
export async function voteOnce(web: string, random: () => number = Math.random, forced?: string): Promise<{ choice: string; status: number }> {
  const list = (await (await fetch(`http://${web}/api/list`, { signal: AbortSignal.timeout(5000) })).json()) as { shortcode: string }[];
  if (list.length === 0) throw new Error('web returned an empty list');
  const choice = forced ?? list[Math.floor(random() * list.length)]!.shortcode;
  // Each vote starts a sampled trace; the proxies record spans for it when tracing is on, and ignore it otherwise.
  const res = await fetch(`http://${web}/api/vote?choice=${encodeURIComponent(choice)}`, { signal: AbortSignal.timeout(5000), headers: newTraceHeaders() });
  await res.arrayBuffer();
  return { choice, status: res.status };
}

/** Votes every intervalMs until the signal aborts. */
export async function runBot(opts: BotOptions, signal: AbortSignal): Promise<BotStats> {
  const stats: BotStats = { ok: 0, failed: 0, errors: 0 };
  const every = opts.doughnutEvery ?? 8;
  for (let n = 1; !signal.aborted; n++) {
    const started = Date.now();
    try {
      const r = await voteOnce(opts.web, opts.random, every > 0 && n % every === 0 ? BROKEN_SHORTCODE : undefined);
      if (r.status === 200) stats.ok++;
      else stats.failed++;
      opts.onResult?.(r.choice, r.status);
    } catch {
      stats.errors++;
      opts.onResult?.('', 'error');
    }
    const wait = Math.max(0, opts.intervalMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  return stats;
}
