// The overview: every namespace with its meshed pods and golden metrics, refreshed live.
import { html } from 'htm/preact';
import type { StatAnswer } from '../../api-types.ts';
import { getJson, usePoll } from '../api.ts';
import { ErrorBanner, Fresh, Loading } from '../components/common.ts';
import { StatTable } from '../components/stat-table.ts';
import { href } from '../route.ts';

export const REFRESH_MS = 5000;

export function Overview({ grafanaUrl }: { grafanaUrl: string | null }) {
  const stat = usePoll('overview', REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'ns' }, signal));
  const rows = stat.data?.rows ?? [];
  // Meshed namespaces first, then by name: the ones with something to see lead.
  const sorted = [...rows].sort((a, b) => Number((b.pods?.meshed ?? 0) > 0) - Number((a.pods?.meshed ?? 0) > 0) || a.resource.name.localeCompare(b.resource.name));
  return html`<section>
    <h1>Namespaces <${Fresh} at=${stat.at} every="5 s" /></h1>
    <p class="lead">Golden metrics of each namespace's meshed workloads over the last minute, as their proxies report them.</p>
    <${ErrorBanner} error=${stat.error} />
    ${stat.data
      ? html`<${StatTable} rows=${sorted} grafanaUrl=${grafanaUrl} empty="No namespaces." testId="namespaces" link=${(r: { resource: { name: string } }) => href({ page: 'namespace', namespace: r.resource.name })} />`
      : stat.error
        ? null
        : html`<${Loading} what="namespaces" />`}
  </section>`;
}
