// REST paths of Kubernetes collections: core group under /api, named groups under /apis.
export interface ResourceRef {
  /** "v1" for the core group, else "group/version", e.g. "discovery.k8s.io/v1". */
  readonly apiVersion: string;
  readonly kind: string;
  /** Lower-case plural, e.g. "endpointslices". */
  readonly plural: string;
  /** Watch one namespace; omitted means all namespaces (or a cluster-scoped resource). */
  readonly namespace?: string;
}

export function collectionPath(ref: ResourceRef): string {
  const prefix = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${prefix}${ns}/${ref.plural}`;
}
