// The dashboard's places, kept in the URL's fragment: the page works under any path prefix (a port-forward, the
// API server's service proxy) and a reload or a shared link lands on the same view.

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'topology' }
  | { readonly page: 'namespace'; readonly namespace: string }
  | { readonly page: 'workload'; readonly namespace: string; readonly type: string; readonly name: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'topology') return { page: 'topology' };
  if (parts[0] === 'namespaces' && parts[1]) {
    if (parts.length === 4) return { page: 'workload', namespace: parts[1], type: parts[2] as string, name: parts[3] as string };
    return { page: 'namespace', namespace: parts[1] };
  }
  return { page: 'overview' };
}

export function href(r: Route): string {
  switch (r.page) {
    case 'overview':
      return '#/';
    case 'topology':
      return '#/topology';
    case 'namespace':
      return `#/namespaces/${encodeURIComponent(r.namespace)}`;
    case 'workload':
      return `#/namespaces/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.type)}/${encodeURIComponent(r.name)}`;
  }
}
