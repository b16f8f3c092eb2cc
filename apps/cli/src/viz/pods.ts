// Which pods make up a resource (`deploy`, `deploy/web`, `sts`, `ds`, `po/name`), and reading a pod's proxy admin
// port through the API server's pod proxy, so the CLI needs no port-forward and no Prometheus.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1LabelSelector, type V1Pod } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';
import { proxyContainerStatus } from '@trellis/inject';

export const PROXY_ADMIN_PORT = 4191;

const KINDS: Readonly<Record<string, 'deployment' | 'statefulset' | 'daemonset' | 'pod'>> = {
  deploy: 'deployment', deployment: 'deployment', deployments: 'deployment',
  sts: 'statefulset', statefulset: 'statefulset', statefulsets: 'statefulset',
  ds: 'daemonset', daemonset: 'daemonset', daemonsets: 'daemonset',
  po: 'pod', pod: 'pod', pods: 'pod',
};

export interface ResourceRef {
  readonly kind: 'deployment' | 'statefulset' | 'daemonset' | 'pod';
  readonly name?: string;
}

export function parseResource(arg: string): ResourceRef {
  const [type = '', name, extra] = arg.split('/');
  const kind = KINDS[type.toLowerCase()];
  if (!kind || extra !== undefined || name === '') {
    throw new ConfigError(`invalid resource "${arg}": expected TYPE or TYPE/NAME with TYPE one of deploy, sts, ds, po`);
  }
  return name === undefined ? { kind } : { kind, name };
}

export interface ResourcePods {
  readonly name: string;
  readonly pods: readonly V1Pod[];
}

function selectorText(s: V1LabelSelector | undefined): string {
  const parts = Object.entries(s?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

const live = (p: V1Pod) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export async function resourcePods(kc: KubeConfig, namespace: string, ref: ResourceRef): Promise<ResourcePods[]> {
  const core = kc.makeApiClient(CoreV1Api);
  if (ref.kind === 'pod') {
    const pods = ref.name ? [await core.readNamespacedPod({ name: ref.name, namespace })] : (await core.listNamespacedPod({ namespace })).items;
    return pods.filter(live).map((p) => ({ name: p.metadata?.name ?? '', pods: [p] }));
  }
  const apps = kc.makeApiClient(AppsV1Api);
  const list = async () => {
    if (ref.kind === 'deployment') return ref.name ? [await apps.readNamespacedDeployment({ name: ref.name, namespace })] : (await apps.listNamespacedDeployment({ namespace })).items;
    if (ref.kind === 'statefulset') return ref.name ? [await apps.readNamespacedStatefulSet({ name: ref.name, namespace })] : (await apps.listNamespacedStatefulSet({ namespace })).items;
    return ref.name ? [await apps.readNamespacedDaemonSet({ name: ref.name, namespace })] : (await apps.listNamespacedDaemonSet({ namespace })).items;
  };
  const out: ResourcePods[] = [];
  for (const w of await list()) {
    const labelSelector = selectorText(w.spec?.selector);
    const pods = labelSelector ? (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(live) : [];
    out.push({ name: w.metadata?.name ?? '', pods });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The pod runs a linkerd-proxy that reports ready (a native sidecar is an init container). */
export function isMeshed(p: V1Pod): boolean {
  return proxyContainerStatus(p.status)?.ready === true;
}

/** GET a path of the pod's proxy admin server through the API server (`pods/<name>:4191/proxy/<path>`). */
export function proxyAdminGet(kc: KubeConfig, namespace: string, pod: string, path: string): Promise<string> {
  return podPortGet(kc, namespace, pod, PROXY_ADMIN_PORT, path, 'the proxy admin port');
}

/** GET a path of one of the pod's ports through the API server's pod proxy (`pods/<name>:<port>/proxy/<path>`). */
export async function podPortGet(kc: KubeConfig, namespace: string, pod: string, port: number, path: string, what = `port ${port}`): Promise<string> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy/${path}`);
  const opts: RequestOptions & { headers: Record<string, string> } = { method: 'GET', headers: {}, timeout: 10_000 };
  await kc.applyToHTTPSOptions(opts);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${namespace}/${pod}: ${what} answered ${res.statusCode}: ${body.trim().split('\n')[0]?.slice(0, 200)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${namespace}/${pod}: no answer from ${what} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}
