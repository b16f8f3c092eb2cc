// The objects of a Trellis install, found in the cluster by the label every chart object carries
// (linkerd.io/control-plane-ns=<namespace>), and the keys of rendered manifests to compare them with.
import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Every kind the charts make, in the order `kubectl delete -f -` should remove them (workloads first). */
const KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', namespaced: false },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', namespaced: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', namespaced: true },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespaced: false },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', namespaced: false },
  { apiVersion: 'v1', kind: 'Namespace', namespaced: false },
];

export const refKey = (r: ObjectRef) => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;

/** The install's objects in the cluster. CRDs and the Namespace only when asked (uninstall removes them, prune never). */
export async function installedObjects(kc: KubeConfig, namespace: string, opts: { crdsAndNamespace: boolean }): Promise<ObjectRef[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const selector = `linkerd.io/control-plane-ns=${namespace}`;
  const out: ObjectRef[] = [];
  for (const k of KINDS) {
    const extra = k.kind === 'CustomResourceDefinition' || k.kind === 'Namespace';
    if (extra && !opts.crdsAndNamespace) continue;
    // The CRDs are the cluster's, whichever namespace `install --crds` was rendered for.
    const labels = k.kind === 'Namespace' ? undefined : k.kind === 'CustomResourceDefinition' ? 'app.kubernetes.io/part-of=trellis' : selector;
    const list = await api.list(k.apiVersion, k.kind, k.namespaced ? namespace : undefined, undefined, undefined, undefined, undefined, labels);
    for (const o of list.items) {
      const name = o.metadata?.name ?? '';
      if (k.kind === 'Namespace' && name !== namespace) continue;
      out.push({ apiVersion: k.apiVersion, kind: k.kind, name, ...(k.namespaced ? { namespace } : {}) });
    }
  }
  return out;
}

/** The objects of rendered manifests; a namespaced object without a namespace is in `namespace`. */
export function renderedRefs(manifests: string, namespace: string): ObjectRef[] {
  const namespacedless = new Set(KINDS.filter((k) => !k.namespaced).map((k) => k.kind));
  return parseAllDocuments(manifests).flatMap((d) => {
    const o = d.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (!o?.kind || !o.apiVersion || !o.metadata?.name) return [];
    return [{ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(namespacedless.has(o.kind) ? {} : { namespace: o.metadata.namespace ?? namespace }) }];
  });
}

/** References for `kubectl delete -f -`. */
export function deletionManifest(refs: readonly ObjectRef[]): string {
  return refs
    .map((r) => ['---', `apiVersion: ${r.apiVersion}`, `kind: ${r.kind}`, 'metadata:', `  name: ${r.name}`, ...(r.namespace ? [`  namespace: ${r.namespace}`] : [])].join('\n') + '\n')
    .join('');
}

/** The policy kinds the viz chart makes besides the built-in ones; PodMonitor only where Prometheus Operator is. */
const VIZ_EXTRA_KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'AuthorizationPolicy', namespaced: true },
  { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'MeshTLSAuthentication', namespaced: true },
  { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'NetworkAuthentication', namespaced: true },
  { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', namespaced: true },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', namespaced: true },
  { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', namespaced: false },
];

/** The tap API reads the API server's client-CA ConfigMap through a RoleBinding that must live in kube-system. */
const VIZ_KUBE_SYSTEM: readonly { apiVersion: string; kind: string }[] = [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' }];

/** Every object of the viz extension (label linkerd.io/extension=viz), its Namespace last. */
export async function vizObjects(kc: KubeConfig, namespace: string): Promise<ObjectRef[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const kinds: { apiVersion: string; kind: string; namespaced: boolean; in?: string }[] = [
    ...KINDS.filter((k) => k.kind !== 'CustomResourceDefinition' && k.kind !== 'Namespace'),
    ...VIZ_EXTRA_KINDS,
    ...VIZ_KUBE_SYSTEM.map((k) => ({ ...k, namespaced: true, in: 'kube-system' })),
    ...KINDS.filter((k) => k.kind === 'Namespace'),
  ];
  const out: ObjectRef[] = [];
  for (const k of kinds) {
    const ns = k.in ?? namespace;
    let items;
    try {
      items = (await api.list(k.apiVersion, k.kind, k.namespaced ? ns : undefined, undefined, undefined, undefined, undefined, 'linkerd.io/extension=viz')).items;
    } catch (err) {
      // A kind whose CRD is not installed (PodMonitor without Prometheus Operator) has nothing of ours.
      if ((err as { code?: number }).code === 404) continue;
      throw err;
    }
    for (const o of items) out.push({ apiVersion: k.apiVersion, kind: k.kind, name: o.metadata?.name ?? '', ...(k.namespaced ? { namespace: ns } : {}) });
  }
  return out;
}
