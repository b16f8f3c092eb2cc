// Live traffic of one workload, as `viz tap` and `viz top` show it: a tap opened through the dashboard's server
// (server-sent events from api/tap), its requests aggregated by source, destination, method and path (count, best,
// worst and last latency, success rate; most requested first) and the newest tap lines beneath. Redrawn at most
// twice a second, however fast the events come; the tap closes when stopped or when the page goes away.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatLatency, TopRows, type TapLine } from '@trellis/tap-view';
import { ApiError } from '../api.ts';
import { ErrorBanner, SuccessRate } from './common.ts';

const REDRAW_MS = 500;
const KEPT_LINES = 50;

type State = 'idle' | 'open' | 'ended';

export function Live({ namespace, type, name }: { namespace: string; type: string; name: string }) {
  const [state, setState] = useState<State>('idle');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [, redraw] = useState(0);
  const top = useRef(new TopRows());
  const lines = useRef<string[]>([]);
  const source = useRef<EventSource | undefined>(undefined);

  const stop = (next: State) => {
    source.current?.close();
    source.current = undefined;
    setState(next);
  };

  useEffect(() => {
    if (state !== 'open') return;
    const timer = setInterval(() => redraw((n) => n + 1), REDRAW_MS);
    return () => clearInterval(timer);
  }, [state]);
  // Leaving the page (or another workload) closes the tap.
  useEffect(() => () => source.current?.close(), [namespace, type, name]);

  const start = () => {
    top.current = new TopRows();
    lines.current = [];
    setError(undefined);
    const q = new URLSearchParams({ resource: `${type}/${name}`, namespace, maxRps: '10' });
    const es = new EventSource(`api/tap?${q.toString()}`);
    source.current = es;
    es.onmessage = (m: MessageEvent<string>) => {
      const l = JSON.parse(m.data) as TapLine;
      lines.current.unshift(l.text);
      if (lines.current.length > KEPT_LINES) lines.current.length = KEPT_LINES;
      if (l.done) top.current.add(l.done);
    };
    es.addEventListener('failure', (m) => {
      const e = (JSON.parse((m as MessageEvent<string>).data) as { error: { code: string; message: string } }).error;
      setError(new ApiError(e.code, e.message));
      stop('ended');
    });
    es.addEventListener('end', () => stop('ended'));
    // A connection EventSource gave up on (the server gone, a refused request): say so instead of retrying forever.
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        setError(new ApiError('TRELLIS_ERR_DASHBOARD_UNREACHABLE', 'the live tap stream closed: the dashboard server does not answer'));
        stop('ended');
      }
    };
    setState('open');
  };

  const rows = top.current.rows();
  return html`<div class="live" data-testid="live" data-state=${state}>
    <p>
      ${state === 'open'
        ? html`<button type="button" data-testid="tap-toggle" onClick=${() => stop('ended')}>Stop</button> <span class="fresh">tapping ${type}/${name} (at most 10 requests per second)</span>`
        : html`<button type="button" data-testid="tap-toggle" onClick=${start}>Start tap</button> <span class="fresh">every request to and from ${name}, live, as trellis viz tap and top show it</span>`}
    </p>
    <${ErrorBanner} error=${error} />
    ${rows.length === 0
      ? state === 'open'
        ? html`<p class="empty">Waiting for requests...</p>`
        : null
      : html`<table class="stats" data-testid="top">
          <thead><tr><th>Source</th><th>Destination</th><th>Method</th><th>Path</th><th class="num">Count</th><th class="num">Best</th><th class="num">Worst</th><th class="num">Last</th><th class="num">Success rate</th></tr></thead>
          <tbody>
            ${rows.map(
              (r) => html`<tr data-path=${r.path} data-count=${r.count}>
                <td>${r.source}</td>
                <td>${r.destination}</td>
                <td>${r.method}</td>
                <td class="name">${r.path}</td>
                <td class="num">${r.count}</td>
                <td class="num">${formatLatency(r.bestMs)}</td>
                <td class="num">${formatLatency(r.worstMs)}</td>
                <td class="num">${formatLatency(r.lastMs)}</td>
                <td class="num"><${SuccessRate} rate=${r.successes / r.count} /></td>
              </tr>`,
            )}
          </tbody>
        </table>`}
    ${lines.current.length ? html`<pre class="tap-lines" data-testid="tap-lines">${lines.current.join('\n')}</pre>` : null}
  </div>`;
}
