// The dashboard's entry: renders the page the URL fragment names.
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { DashboardConfig } from '../api-types.ts';
import { getJson } from './api.ts';
import { Layout } from './components/layout.ts';
import { Namespace } from './pages/namespace.ts';
import { Overview } from './pages/overview.ts';
import { Topology } from './pages/topology.ts';
import { Workload } from './pages/workload.ts';
import { parseRoute, type Route } from './route.ts';

function title(r: Route): string {
  switch (r.page) {
    case 'overview':
      return 'Namespaces';
    case 'topology':
      return 'Topology';
    case 'namespace':
      return r.namespace;
    case 'workload':
      return `${r.type}/${r.name} (${r.namespace})`;
  }
}

function App() {
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  // Fetched beside the page's own data, not before it; without it the page still works, minus Grafana links.
  const [config, setConfig] = useState<DashboardConfig>({ grafanaUrl: null });
  useEffect(() => {
    getJson<DashboardConfig>('config').then(setConfig, () => undefined);
  }, []);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${title(route)} \u00b7 Trellis`;
  }, [route]);
  const g = config.grafanaUrl;
  const page =
    route.page === 'namespace'
      ? html`<${Namespace} key=${route.namespace} namespace=${route.namespace} grafanaUrl=${g} />`
      : route.page === 'workload'
        ? html`<${Workload} key=${`${route.namespace}/${route.type}/${route.name}`} ...${route} grafanaUrl=${g} />`
        : route.page === 'topology'
          ? html`<${Topology} />`
          : html`<${Overview} grafanaUrl=${g} />`;
  return html`<${Layout} route=${route} grafanaUrl=${g}>${page}<//>`;
}

const root = document.getElementById('app') as HTMLElement;
// index.html's placeholder goes: render() keeps what it did not create.
root.replaceChildren();
render(html`<${App} />`, root);
