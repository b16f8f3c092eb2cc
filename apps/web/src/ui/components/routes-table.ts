// A workload's routes: one row per (Service or Server, route) with its success rate, RPS and latency percentiles;
// `[DEFAULT]` is what matched no route.
import { html } from 'htm/preact';
import type { RouteRow } from '../../api-types.ts';
import { ms, rps } from '../format.ts';
import { SuccessRate } from './common.ts';

export function RoutesTable({ rows, empty, testId }: { rows: readonly RouteRow[]; empty: string; testId: string }) {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="stats" data-testid=${testId}>
    <thead>
      <tr>
        <th>Route</th>
        <th>Service</th>
        <th>Kind</th>
        <th class="num">Success rate</th>
        <th class="num">RPS</th>
        <th class="num">P50</th>
        <th class="num">P95</th>
        <th class="num">P99</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map((r) => {
        const s = r.stats && r.stats.successRate !== null ? r.stats : undefined;
        return html`<tr data-route=${r.route} data-parent=${r.parent.name}>
          <td class="name">${r.route}</td>
          <td>${r.parent.kind === 'Server' ? `server/${r.parent.name}` : r.parent.name}</td>
          <td class="kind">${r.kind}</td>
          <td class="num"><${SuccessRate} rate=${s?.successRate} /></td>
          <td class="num">${rps(s?.rps)}</td>
          <td class="num">${ms(s?.latencyMs.p50)}</td>
          <td class="num">${ms(s?.latencyMs.p95)}</td>
          <td class="num">${ms(s?.latencyMs.p99)}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}
