// The Kubernetes reads `trellis check` makes, behind one small facade so each check reads as a sentence.
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { proxyContainer, proxyContainerStatus } from '@trellis/inject';

/** The API said 404. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export class Cluster {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly crds: ApiextensionsV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly admission: AdmissionregistrationV1Api;
  readonly authz: AuthorizationV1Api;
  readonly #version: VersionApi;
  /** The API server's URL, for messages. */
  readonly server: string;

  constructor(kc: KubeConfig) {
    this.server = kc.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.crds = kc.makeApiClient(ApiextensionsV1Api);
    this.rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    this.admission = kc.makeApiClient(AdmissionregistrationV1Api);
    this.authz = kc.makeApiClient(AuthorizationV1Api);
    this.#version = kc.makeApiClient(VersionApi);
  }

  async serverVersion(): Promise<{ major: number; minor: number; gitVersion: string }> {
    const v = await this.#version.getCode();
    return { major: Number.parseInt(v.major, 10), minor: Number.parseInt(v.minor, 10), gitVersion: v.gitVersion };
  }

  /** The object, or undefined when it does not exist. */
  async maybe<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async pods(namespace: string | undefined, labelSelector: string): Promise<V1Pod[]> {
    const list = namespace ? await this.core.listNamespacedPod({ namespace, labelSelector }) : await this.core.listPodForAllNamespaces({ labelSelector });
    return list.items;
  }

  /** Whether the caller may do `verb` on `resource` (in `namespace`, or cluster-wide). */
  async can(verb: string, group: string, resource: string, namespace?: string): Promise<boolean> {
    const review = await this.authz.createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, group, resource, ...(namespace ? { namespace } : {}) } } },
    });
    return review.status?.allowed === true;
  }
}

export const podName = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;

/** Why a pod is not Ready, in the words `kubectl get pods` would use. */
export function notReadyReason(p: V1Pod): string | undefined {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (ready && p.status?.phase === 'Running') return undefined;
  const waiting = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find((c) => c.state?.waiting || (c.state?.terminated && c.state.terminated.exitCode !== 0));
  const why = waiting?.state?.waiting?.reason ?? waiting?.state?.terminated?.reason;
  const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return [p.status?.phase ?? 'Unknown', why && `${waiting?.name}: ${why}`, sched?.reason && `${sched.reason}: ${sched.message ?? ''}`.trim()].filter(Boolean).join(', ');
}

/** Ready state of the pod's linkerd-proxy (a native sidecar is an init container). */
export function proxyStatus(p: V1Pod): 'ready' | 'not-ready' | 'absent' {
  if (!proxyContainer(p.spec)) return 'absent';
  return proxyContainerStatus(p.status)?.ready === true ? 'ready' : 'not-ready';
}
