// Linkerd's `top` table as text: requests seen by tap (@trellis/tap-view pairs each init with its end and groups
// them by source, destination, method and path), with their count, best, worst and last latency and success rate,
// most requested first.
import type { tap } from '@trellis/proto';
import { formatLatency, TopRows, type TopRow } from '@trellis/tap-view';
import { TapEvents } from '@trellis/tap-view/events';

export class TopTable {
  readonly #events = new TapEvents();
  readonly #top = new TopRows();

  /** Feeds one tap event. */
  add(e: tap.TapEvent): void {
    const done = this.#events.line(e)?.done;
    if (done) this.#top.add(done);
  }

  /** The rows, most requests first. */
  rows(): TopRow[] {
    return this.#top.rows();
  }

  /** The table as text; `hideSources` drops the Source column and merges rows that differed only by it. */
  render(opts: { hideSources?: boolean } = {}): string {
    const rows = opts.hideSources ? this.#top.withoutSources() : this.#top.rows();
    const header = [...(opts.hideSources ? [] : ['Source']), 'Destination', 'Method', 'Path', 'Count', 'Best', 'Worst', 'Last', 'Success Rate'];
    const cells = rows.map((r) => [
      ...(opts.hideSources ? [] : [r.source]),
      r.destination,
      r.method,
      r.path,
      String(r.count),
      formatLatency(r.bestMs),
      formatLatency(r.worstMs),
      formatLatency(r.lastMs),
      `${((r.successes / r.count) * 100).toFixed(2)}%`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
    const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd();
    return [line(header), ...cells.map(line)].join('\n') + '\n';
  }
}
