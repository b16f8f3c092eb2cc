// The golden-metrics table: one row per resource with its meshed pods, success rate, RPS and latency percentiles.
import { html } from 'htm/preact';
import type { StatRow } from '../../api-types.ts';
import { ms, rps } from '../format.ts';
import { grafanaLink } from '../grafana.ts';
import { SuccessRate } from './common.ts';

export interface StatTableProps {
  readonly rows: readonly StatRow[];
  /** Where a row's name links to; none: plain text. */
  readonly link?: (row: StatRow) => string | undefined;
  readonly grafanaUrl: string | null;
  /** Show the resource kind column (tables that mix deployments, statefulsets ...). */
  readonly showKind?: boolean;
  /** Show the namespace column (tables across namespaces). */
  readonly showNamespace?: boolean;
  readonly empty: string;
  readonly testId?: string;
}

export function StatTable(p: StatTableProps) {
  if (p.rows.length === 0) return html`<p class="empty">${p.empty}</p>`;
  return html`<table class="stats" data-testid=${p.testId}>
    <thead>
      <tr>
        ${p.showNamespace ? html`<th>Namespace</th>` : null}
        <th>Name</th>
        ${p.showKind ? html`<th>Kind</th>` : null}
        <th class="num" title="meshed pods / running pods">Meshed</th>
        <th class="num">Success rate</th>
        <th class="num">RPS</th>
        <th class="num">P50</th>
        <th class="num">P95</th>
        <th class="num">P99</th>
        <th class="num" title="open TCP connections">TCP</th>
        ${p.grafanaUrl ? html`<th></th>` : null}
      </tr>
    </thead>
    <tbody>
      ${p.rows.map((r) => {
        const to = p.link?.(r);
        const g = grafanaLink(p.grafanaUrl, r.resource.namespace, r.resource.type === 'namespace' ? undefined : r.resource.type, r.resource.type === 'namespace' ? undefined : r.resource.name);
        const s = r.stats;
        return html`<tr data-resource=${`${r.resource.type}/${r.resource.name}`} data-name=${r.resource.name}>
          ${p.showNamespace ? html`<td>${r.resource.namespace}</td>` : null}
          <td class="name">${to ? html`<a href=${to}>${r.resource.name}</a>` : r.resource.name}</td>
          ${p.showKind ? html`<td class="kind">${r.resource.type}</td>` : null}
          <td class="num">${r.pods ? html`<span class=${r.pods.meshed < r.pods.running ? 'partial' : ''}>${r.pods.meshed}/${r.pods.running}</span>` : '-'}</td>
          <td class="num"><${SuccessRate} rate=${s?.successRate} /></td>
          <td class="num">${rps(s?.rps)}</td>
          <td class="num">${ms(s?.latencyMs.p50)}</td>
          <td class="num">${ms(s?.latencyMs.p95)}</td>
          <td class="num">${ms(s?.latencyMs.p99)}</td>
          <td class="num">${r.tcp ? r.tcp.openConnections : '-'}</td>
          ${p.grafanaUrl ? html`<td>${g ? html`<a class="grafana" href=${g} target="_blank" rel="noopener">Grafana</a>` : null}</td>` : null}
        </tr>`;
      })}
    </tbody>
  </table>`;
}
