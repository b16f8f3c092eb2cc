// One workload: its golden metrics now, who calls it and whom it calls (with the identities at both ends), the
// routes it serves, its live requests (tap and top, on demand), and its last hour from Prometheus: success rate,
// requests per second and latency.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { EdgesAnswer, HistoryAnswer, RoutesAnswer, StatAnswer, StatRow } from '../../api-types.ts';
import { getJson, usePoll } from '../api.ts';
import { ErrorBanner, Fresh, Loading, SuccessRate } from '../components/common.ts';
import { Live } from '../components/live.ts';
import { RoutesTable } from '../components/routes-table.ts';
import { StatTable } from '../components/stat-table.ts';
import { CHECK, ms, percent, rps, shortType } from '../format.ts';
import { grafanaLink } from '../grafana.ts';
import { useModule } from '../lazy.ts';
import { href } from '../route.ts';
import { REFRESH_MS } from './overview.ts';

const HISTORY_REFRESH_MS = 30_000;
const RANGES = ['5m', '1h', '6h', '24h'] as const;

export function Workload({ namespace, type, name, grafanaUrl }: { namespace: string; type: string; name: string; grafanaUrl: string | null }) {
  const me = `${shortType(type)}/${name}`;
  const key = `${namespace}/${me}`;
  const stat = usePoll(`w:${key}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: me, namespace }, signal));
  const inbound = usePoll(`in:${key}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'deploy', to: me, toNamespace: namespace }, signal));
  const outbound = usePoll(`out:${key}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'deploy', from: me, fromNamespace: namespace }, signal));
  const routes = usePoll(`r:${key}`, REFRESH_MS, (signal) => getJson<RoutesAnswer>('routes', { resource: me, namespace }, signal));
  const edges = usePoll(`e:${key}`, REFRESH_MS, (signal) => getJson<EdgesAnswer>('edges', { resource: shortType(type), namespace }, signal));
  const [range, setRange] = useState<(typeof RANGES)[number]>('1h');
  const hist = usePoll(`h:${key}:${range}`, HISTORY_REFRESH_MS, (signal) => getJson<HistoryAnswer>('history', { resource: me, namespace, range }, signal));

  const charts = useModule(() => import('../components/chart.ts'));
  const Chart = charts?.Chart;
  const row: StatRow | undefined = stat.data?.rows[0];
  const s = row?.stats;
  const mine = (edges.data?.edges ?? []).filter((e) => (e.src.name === name && e.src.namespace === namespace) || (e.dst.name === name && e.dst.namespace === namespace));
  const link = (r: StatRow) => href({ page: 'workload', namespace: r.resource.namespace, type: r.resource.type, name: r.resource.name });
  const g = grafanaLink(grafanaUrl, namespace, type, name);
  const h = hist.data;
  return html`<section>
    <h1>${type}/${name} ${g ? html`<a class="grafana" href=${g} target="_blank" rel="noopener">Grafana</a>` : null} <${Fresh} at=${stat.at} every="5 s" /></h1>
    <${ErrorBanner} error=${stat.error} />
    ${row
      ? html`<dl class="golden" data-testid="golden">
          <div><dt>Meshed pods</dt><dd>${row.pods ? `${row.pods.meshed}/${row.pods.running}` : '-'}</dd></div>
          <div><dt>Success rate</dt><dd><${SuccessRate} rate=${s?.successRate} /></dd></div>
          <div><dt>RPS</dt><dd>${rps(s?.rps)}</dd></div>
          <div><dt>P50 / P95 / P99</dt><dd>${ms(s?.latencyMs.p50)} / ${ms(s?.latencyMs.p95)} / ${ms(s?.latencyMs.p99)}</dd></div>
          <div><dt>Secured (mTLS)</dt><dd>${percent(s?.securedRate)}</dd></div>
        </dl>`
      : stat.error
        ? null
        : html`<${Loading} what=${name} />`}
    <h2>
      History
      <span class="ranges" role="group" aria-label="range">
        ${RANGES.map((r) => html`<button type="button" class=${r === range ? 'active' : ''} aria-pressed=${r === range} onClick=${() => setRange(r)}>${r}</button>`)}
      </span>
    </h2>
    <${ErrorBanner} error=${hist.error} />
    ${h && Chart
      ? html`<div class="charts">
          <${Chart} testId="chart-success" title="Success rate" timestamps=${h.timestamps} yRange=${[0, 1]} format=${percent} lines=${[{ label: 'success', color: '#1a7f37', values: h.series.successRate }]} />
          <${Chart} testId="chart-rps" title="Requests per second" timestamps=${h.timestamps} format=${rps} lines=${[{ label: 'RPS', color: '#0969da', values: h.series.rps }]} />
          <${Chart}
            testId="chart-latency"
            title="Latency"
            timestamps=${h.timestamps}
            format=${ms}
            lines=${[
              { label: 'P50', color: '#1a7f37', values: h.series.p50 },
              { label: 'P95', color: '#b7791f', values: h.series.p95 },
              { label: 'P99', color: '#cf222e', values: h.series.p99 },
            ]}
          />
        </div>`
      : hist.error
        ? null
        : html`<${Loading} what="the last hour" />`}
    <div>
      <div>
        <h2>Inbound: who calls ${name}</h2>
        <${ErrorBanner} error=${inbound.error} />
        ${inbound.data ? html`<${StatTable} rows=${inbound.data.rows} grafanaUrl=${null} showNamespace=${true} empty="No meshed caller in the last minute." testId="inbound" link=${link} />` : null}
      </div>
      <div>
        <h2>Outbound: whom ${name} calls</h2>
        <${ErrorBanner} error=${outbound.error} />
        ${outbound.data ? html`<${StatTable} rows=${outbound.data.rows} grafanaUrl=${null} showNamespace=${true} empty="No meshed callee in the last minute." testId="outbound" link=${link} />` : null}
      </div>
    </div>
    <h2>Routes</h2>
    <${ErrorBanner} error=${routes.error} />
    ${routes.data
      ? html`<${RoutesTable} rows=${routes.data.rows} testId="routes" empty=${`No routes: ${name}'s Services have no ServiceProfile, and no HTTPRoute carried a request in the last minute.`} />`
      : null}
    <h2>Live requests</h2>
    <${Live} namespace=${namespace} type=${shortType(type)} name=${name} />
    <h2>Connections and identities</h2>
    <${ErrorBanner} error=${edges.error} />
    ${mine.length === 0
      ? html`<p class="empty">No open connections to or from ${name}.</p>`
      : html`<table class="edges" data-testid="workload-edges">
          <thead><tr><th>From</th><th>To</th><th>Client identity</th><th>Server identity</th><th>mTLS</th><th class="num">Conns</th></tr></thead>
          <tbody>
            ${mine.map(
              (e) => html`<tr>
                <td>${e.src.namespace}/${e.src.name}</td>
                <td>${e.dst.namespace}/${e.dst.name}</td>
                <td class="id">${e.clientId || '-'}</td>
                <td class="id">${e.serverId || '-'}</td>
                <td>${e.secured ? html`<span class="secured">${CHECK}</span>` : html`<span class="plain">${e.noTlsReason || 'no'}</span>`}</td>
                <td class="num">${e.openConnections}</td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </section>`;
}
