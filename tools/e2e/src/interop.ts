// Linkerd's own proxy (linkerd2-proxy) beside Trellis' proxy on one node: four workloads in one namespace, a server
// and a client meshed by each proxy, so every path between the two proxies can be exercised. The apps are the
// peers in ./peers (peer-container.ts: the e2e peers image); Linkerd's proxy is the image
// tools/images builds from linkerd2-proxy (tools/linkerd-proxy). Clients run from this host inside their pod's
// network namespace, so their connections take the pod's iptables redirect to its proxy.
import { join } from 'node:path';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { podNetns } from '@trellis/cluster/src/node-pods.ts';
import { exec, kubectl, type Cluster, type Pod, pods } from './kube.ts';
import { TRELLIS_NS } from './journey.ts';
import { idleContainer, peerContainer } from './peer-container.ts';
import { PEER_PORTS } from './peers/ports.ts';

export const INTEROP_NS = 'interop';
/** Which proxy meshes a workload: t- for Trellis' proxy, l- for linkerd2-proxy. */
export const WORKLOADS = ['t-server', 'l-server', 't-client', 'l-client'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** Linkerd's proxy image (tools/images builds it with --peers), named as the injector's annotations name it. */
const LINKERD_PROXY_IMAGE = 'cr.l5d.io/linkerd/proxy';
const LINKERD_PROXY_VERSION = 'edge-26.8.1';

export const interopIdentity = (w: Workload) => `${w}.${INTEROP_NS}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`;

function workload(w: Workload): string {
  const server = w.endsWith('-server');
  const annotations = w.startsWith('l-') ? `{config.linkerd.io/proxy-image: ${LINKERD_PROXY_IMAGE}, config.linkerd.io/proxy-version: ${LINKERD_PROXY_VERSION}}` : '{}';
  const container = server
    ? `{name: app, ${peerContainer('server-main.ts')}, ports: [{name: http, containerPort: ${PEER_PORTS.http}}],
         readinessProbe: {httpGet: {path: /ready, port: ${PEER_PORTS.http}}, periodSeconds: 2}}`
    : `{name: app, ${idleContainer()}}`;
  const service = server
    ? `---
apiVersion: v1
kind: Service
metadata: {name: ${w}, namespace: ${INTEROP_NS}}
spec:
  selector: {app: ${w}}
  ports: [{name: http, port: ${PEER_PORTS.http}}, {name: grpc, port: ${PEER_PORTS.grpc}}, {name: banner, port: ${PEER_PORTS.banner}}]
`
    : '';
  return `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${w}, namespace: ${INTEROP_NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${w}, namespace: ${INTEROP_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${w}}}
  template:
    metadata: {labels: {app: ${w}}, annotations: ${annotations}}
    spec:
      serviceAccountName: ${w}
      containers: [${container}]
${service}`;
}

/** The namespace (meshed by the proxy injector's webhook, not by `trellis inject`) and the four workloads. */
export function interopManifests(): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${INTEROP_NS}, annotations: {linkerd.io/inject: enabled}}
${WORKLOADS.map(workload).join('')}`;
}

/** A Server on a workload's gRPC port whose one AuthorizationPolicy admits only `client`'s identity. */
export function grpcOnlyFrom(server: Workload, client: Workload): string {
  return `apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: ${server}-grpc, namespace: ${INTEROP_NS}}
spec:
  podSelector: {matchLabels: {app: ${server}}}
  port: ${PEER_PORTS.grpc}
  proxyProtocol: gRPC
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: ${server}-clients, namespace: ${INTEROP_NS}}
spec:
  identityRefs: [{kind: ServiceAccount, name: ${client}}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ${server}-from-${client}, namespace: ${INTEROP_NS}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: ${server}-grpc}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: ${server}-clients}]
`;
}

export async function interopPod(cluster: Cluster, w: Workload): Promise<Pod> {
  const [p] = (await pods(cluster, INTEROP_NS, `app=${w}`)).filter((x) => !x.metadata.deletionTimestamp);
  if (!p) throw new Error(`no ${w} pod in ${INTEROP_NS}`);
  return p;
}

export interface HttpResult { readonly status?: number; readonly body?: string; readonly error?: string }
export interface GrpcResult { readonly code?: number; readonly details?: string; readonly reply?: { said: string; clientId: string | null }; readonly error?: string }
export interface BannerResult { readonly banner?: string; readonly echo?: string; readonly error?: string }

/** Runs the peer client inside a client pod's network namespace; resolves with its one JSON line. */
export async function fromPod<T>(cluster: Cluster, client: Workload, args: readonly string[]): Promise<T> {
  const pod = await interopPod(cluster, client);
  const netns = await podNetns(cluster.dir, pod.metadata.uid);
  const out = await exec('ip', ['netns', 'exec', netns, process.execPath, join(REPO_ROOT, 'tools/e2e/src/peers/client-main.ts'), ...args]);
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

export async function serviceIp(cluster: Cluster, server: Workload): Promise<string> {
  return (await kubectl(cluster, '-n', INTEROP_NS, 'get', 'svc', server, '-o', 'jsonpath={.spec.clusterIP}')).trim();
}

export const serverHost = (server: Workload) => `${server}.${INTEROP_NS}.svc.cluster.local:${PEER_PORTS.http}`;
