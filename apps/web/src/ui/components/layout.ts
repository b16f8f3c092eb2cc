// The frame around every page: the bar with the product name, the main views, and the breadcrumb of this one.
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { href, type Route } from '../route.ts';

export function Layout({ route, grafanaUrl, children }: { route: Route; grafanaUrl: string | null; children: ComponentChildren }) {
  const crumbs: { label: string; to?: string }[] = [{ label: 'Namespaces', to: href({ page: 'overview' }) }];
  if (route.page === 'namespace' || route.page === 'workload') crumbs.push({ label: route.namespace, to: href({ page: 'namespace', namespace: route.namespace }) });
  if (route.page === 'workload') crumbs.push({ label: `${route.type}/${route.name}` });
  if (route.page === 'topology') crumbs.splice(0, 1, { label: 'Topology' });
  return html`<div class="app">
    <header class="bar">
      <a class="brand" href=${href({ page: 'overview' })}>Trellis <span>viz</span></a>
      <nav>
        <a class=${route.page === 'topology' ? '' : 'active'} href=${href({ page: 'overview' })}>Namespaces</a>
        <a class=${route.page === 'topology' ? 'active' : ''} href=${href({ page: 'topology' })}>Topology</a>
        ${grafanaUrl ? html`<a href=${grafanaUrl} target="_blank" rel="noopener">Grafana</a>` : null}
      </nav>
    </header>
    <main>
      <ol class="crumbs">
        ${crumbs.map((c, i) => html`<li>${c.to && i < crumbs.length - 1 ? html`<a href=${c.to}>${c.label}</a>` : c.label}</li>`)}
      </ol>
      ${children}
    </main>
  </div>`;
}
