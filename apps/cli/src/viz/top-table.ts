// Linkerd's `top` table: requests seen by tap, grouped by source, destination, method and path, with their count,
// best, worst and last latency (request start to response end) and success rate (HTTP status below 500 and, for
// gRPC, status OK), sorted by count. Pairs a request's init with its end by stream id and the proxy's addresses.
import { durationToMillis, ipAddressToString, type tap } from '@trellis/proto';
import { methodText } from './tap-render.ts';

export interface TopRow {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  count: number;
  bestMs: number;
  worstMs: number;
  lastMs: number;
  successes: number;
}

interface Pending {
  readonly key: string;
  readonly row: Omit<TopRow, 'count' | 'bestMs' | 'worstMs' | 'lastMs' | 'successes'>;
  status: number;
}

/** A side of a request: its pod when the tap API named it, else its IP. */
function peer(meta: tap.TapEvent_EndpointMeta | undefined, addr: tap.TapEvent['source']): string {
  const pod = meta?.labels['pod'];
  if (pod) return pod;
  return addr?.ip ? ipAddressToString(addr.ip) : '-';
}

function streamKey(e: tap.TapEvent, id: tap.TapEvent_Http_StreamId | undefined): string {
  const a = (x: tap.TapEvent['source']) => (x?.ip ? `${ipAddressToString(x.ip)}:${x.port}` : '');
  return `${e.proxyDirection}|${a(e.source)}|${a(e.destination)}|${id?.base ?? 0}:${id?.stream ?? 0n}`;
}

/** Formats a latency as Linkerd's top does: µs below a millisecond, else ms with up to three decimals. */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export class TopTable {
  readonly #rows = new Map<string, TopRow>();
  readonly #pending = new Map<string, Pending>();

  /** Feeds one tap event. */
  add(e: tap.TapEvent): void {
    const ev = e.event?.value.event;
    if (ev === undefined) return;
    if (ev.$case === 'requestInit') {
      const row = { source: peer(e.sourceMeta, e.source), destination: peer(e.destinationMeta, e.destination), method: methodText(ev.value.method), path: ev.value.path };
      this.#pending.set(streamKey(e, ev.value.id), { key: `${row.source}|${row.destination}|${row.method}|${row.path}`, row, status: 0 });
      return;
    }
    const k = streamKey(e, ev.value.id);
    const p = this.#pending.get(k);
    if (p === undefined) return;
    if (ev.$case === 'responseInit') {
      p.status = ev.value.httpStatus;
      return;
    }
    this.#pending.delete(k);
    const end = ev.value.eos?.end;
    const ok = p.status > 0 && p.status < 500 && !(end?.$case === 'grpcStatusCode' && end.value !== 0) && end?.$case !== 'resetErrorCode';
    const ms = ev.value.sinceRequestInit ? durationToMillis(ev.value.sinceRequestInit) : 0;
    let r = this.#rows.get(p.key);
    if (r === undefined) {
      r = { ...p.row, count: 0, bestMs: ms, worstMs: ms, lastMs: ms, successes: 0 };
      this.#rows.set(p.key, r);
    }
    r.count++;
    r.bestMs = Math.min(r.bestMs, ms);
    r.worstMs = Math.max(r.worstMs, ms);
    r.lastMs = ms;
    if (ok) r.successes++;
  }

  /** The rows, most requests first. */
  rows(): TopRow[] {
    return [...this.#rows.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path));
  }

  /** The table as text; `hideSources` drops the Source column and merges rows that differed only by it. */
  render(opts: { hideSources?: boolean } = {}): string {
    let rows = this.rows();
    if (opts.hideSources) {
      const merged = new Map<string, TopRow>();
      for (const r of rows) {
        const k = `${r.destination}|${r.method}|${r.path}`;
        const m = merged.get(k);
        if (m === undefined) merged.set(k, { ...r, source: '' });
        else {
          m.count += r.count;
          m.successes += r.successes;
          m.bestMs = Math.min(m.bestMs, r.bestMs);
          m.worstMs = Math.max(m.worstMs, r.worstMs);
        }
      }
      rows = [...merged.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path));
    }
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
