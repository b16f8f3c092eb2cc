// Links into the Grafana dashboards the viz chart ships (their uids and variables are tools/charts' dashboards).

const BY_TYPE: Readonly<Record<string, { readonly uid: string; readonly variable: string }>> = {
  deployment: { uid: 'trellis-deployment', variable: 'deployment' },
  pod: { uid: 'trellis-pod', variable: 'pod' },
};

/** The Grafana dashboard for a namespace or resource, or undefined when there is no Grafana or no such dashboard. */
export function grafanaLink(grafanaUrl: string | null, namespace: string, type?: string, name?: string): string | undefined {
  if (!grafanaUrl) return undefined;
  const q = new URLSearchParams({ 'var-namespace': namespace });
  if (!type || !name) return `${grafanaUrl}/d/trellis-namespace/?${q.toString()}`;
  const d = BY_TYPE[type];
  if (!d) return undefined;
  q.set(`var-${d.variable}`, name);
  return `${grafanaUrl}/d/${d.uid}/?${q.toString()}`;
}
