// Against the local kube-apiserver: the API server calls the injector (on loopback, self-signed certificate) for
// pods created in the test's namespaces and stores what it returns.
import { randomBytes } from 'node:crypto';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startInjector, type RunningInjector } from '../src/injector.ts';
import { ANCHORS, eventually, injectorFiles } from './support/fixtures.ts';
import { kubectl, kubectlOk } from './support/kubectl.ts';

const kubeconfig = inject('kubeconfig');
const suffix = randomBytes(3).toString('hex');
const meshed = `inject-on-${suffix}`;
const plain = `inject-off-${suffix}`;
const late = `inject-late-${suffix}`;
const webhookName = `trellis-proxy-injector-test-${suffix}`;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- objects read back from kubectl

function webhookConfig(port: number, caPem: string) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: webhookName },
    webhooks: [
      {
        name: 'trellis-proxy-injector.linkerd.io',
        clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(caPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'services'], scope: 'Namespaced' }],
        // Only this test's namespaces: the cluster may be shared with other suites.
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [meshed, plain, late] }] },
        admissionReviewVersions: ['v1', 'v1beta1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
      },
    ],
  };
}

const appPod = (name: string, namespace: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: name } },
  spec: {
    containers: [
      { name: 'app', image: 'docker.l5d.io/buoyantio/emojivoto-web:v11', ports: [{ containerPort: 8080, name: 'http' }], readinessProbe: { httpGet: { path: '/', port: 8080 } } },
    ],
  },
});

async function getJson(args: string[]): Promise<Obj> {
  return JSON.parse(await kubectlOk(kubeconfig, [...args, '-o', 'json'])) as Obj;
}

describe('proxy-injector on a real API server', () => {
  const files = injectorFiles();
  let injector: RunningInjector;

  beforeAll(async () => {
    const log = createLogger({ name: 'proxy-injector', level: 'silent', format: 'json' });
    injector = await startInjector({ ...files.config, kubeconfig }, { log, registry: createRegistry({ processMetrics: false }) });
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify(webhookConfig(injector.webhook.port, files.cert)));
    await kubectlOk(kubeconfig, ['create', 'namespace', meshed]);
    await kubectlOk(kubeconfig, ['annotate', 'namespace', meshed, 'linkerd.io/inject=enabled']);
    await kubectlOk(kubeconfig, ['create', 'namespace', plain]);
    // Pods need their namespace's default service account; the controller-manager makes it, apply is idempotent.
    await kubectlOk(kubeconfig, ['create', 'namespace', late]);
    for (const ns of [meshed, plain, late]) {
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }));
    }
  });

  afterAll(async () => {
    await kubectl(kubeconfig, ['delete', 'mutatingwebhookconfiguration', webhookName, '--ignore-not-found']);
    await kubectl(kubeconfig, ['delete', 'namespace', meshed, plain, late, '--wait=false', '--ignore-not-found']);
    await injector?.close();
  });

  it('stores a pod created in an annotated namespace with linkerd-init and linkerd-proxy', async () => {
    await kubectlOk(kubeconfig, ['create', '-f', '-'], JSON.stringify(appPod('web', meshed)));
    const pod = await getJson(['get', 'pod', 'web', '-n', meshed]);
    const init = pod['spec'].initContainers as Obj[];
    expect(init.map((c) => c['name'])).toEqual(['linkerd-init', 'linkerd-proxy']);
    const proxy = init[1] as Obj;
    expect(proxy['restartPolicy']).toBe('Always');
    const env = Object.fromEntries((proxy['env'] as Obj[]).map((e) => [e['name'], e['value'] ?? e['valueFrom']]));
    expect(env).toMatchObject({
      LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: ANCHORS,
      LINKERD2_PROXY_DESTINATION_SVC_ADDR: 'trellis-dst-headless.trellis.svc.cluster.local.:8086',
      LINKERD2_PROXY_IDENTITY_LOCAL_NAME: '$(_pod_sa).$(_pod_ns).serviceaccount.identity.trellis.cluster.local',
      LINKERD2_PROXY_INBOUND_PORTS: '8080',
      LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}\n',
      _pod_sa: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.serviceAccountName' } },
    });
    expect(proxy['livenessProbe']).toMatchObject({ httpGet: { path: '/live', port: 4191 }, initialDelaySeconds: 10, timeoutSeconds: 1 });
    expect(proxy['readinessProbe']).toMatchObject({ httpGet: { path: '/ready', port: 4191 }, initialDelaySeconds: 2, timeoutSeconds: 1 });
    expect(proxy['startupProbe']).toMatchObject({ httpGet: { path: '/ready', port: 4191 }, periodSeconds: 1, failureThreshold: 120 });
    expect(pod['metadata'].annotations).toMatchObject({ 'linkerd.io/inject': 'enabled', 'linkerd.io/created-by': expect.stringMatching(/^trellis\/proxy-injector /) });
    expect(pod['metadata'].labels).toMatchObject({ 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/workload-ns': meshed });
    expect((pod['spec'].volumes as Obj[]).map((v) => v['name'])).toEqual(
      expect.arrayContaining(['linkerd-proxy-init-xtables-lock', 'linkerd-identity-end-entity', 'linkerd-identity-token']),
    );
  });

  it('leaves a pod in an unannotated namespace untouched', async () => {
    await kubectlOk(kubeconfig, ['create', '-f', '-'], JSON.stringify(appPod('web', plain)));
    const pod = await getJson(['get', 'pod', 'web', '-n', plain]);
    expect(pod['spec'].initContainers).toBeUndefined();
    expect((pod['spec'].containers as Obj[]).map((c) => c['name'])).toEqual(['app']);
    expect(Object.keys(pod['metadata'].annotations ?? {}).filter((k) => k.includes('linkerd.io'))).toEqual([]);
  });

  it('labels pods of a Deployment with their Deployment and records Injected on it', async () => {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'emoji', namespace: meshed },
      spec: { replicas: 1, selector: { matchLabels: { app: 'emoji' } }, template: { metadata: { labels: { app: 'emoji' } }, spec: appPod('x', meshed).spec } },
    };
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify(deploy));
    // The controller-manager creates the ReplicaSet and then the pod; the webhook follows the ReplicaSet to the Deployment.
    const pod = await eventually(async () => (await getJson(['get', 'pods', '-n', meshed, '-l', 'app=emoji']))['items'][0] as Obj | undefined, 60_000, 'the Deployment\'s pod');
    expect(pod['metadata'].labels['linkerd.io/proxy-deployment']).toBe('emoji');
    const event = await eventually(
      async () => ((await getJson(['get', 'events', '-n', meshed, '--field-selector', 'involvedObject.kind=Deployment,involvedObject.name=emoji']))['items'] as Obj[]).find((e) => e['reason'] === 'Injected'),
      10_000,
      'the Injected event',
    );
    expect(event['message']).toBe('Trellis sidecar proxy injected');
  });

  it('meshes new pods once their namespace is annotated, without a restart', async () => {
    await kubectlOk(kubeconfig, ['create', '-f', '-'], JSON.stringify(appPod('before', late)));
    expect((await getJson(['get', 'pod', 'before', '-n', late]))['spec'].initContainers).toBeUndefined();
    await kubectlOk(kubeconfig, ['annotate', 'namespace', late, 'linkerd.io/inject=enabled']);
    let n = 0;
    await eventually(
      async () => {
        const name = `after-${n++}`;
        await kubectlOk(kubeconfig, ['create', '-f', '-'], JSON.stringify(appPod(name, late)));
        const init = (await getJson(['get', 'pod', name, '-n', late]))['spec'].initContainers as Obj[] | undefined;
        return init?.some((c) => c['name'] === 'linkerd-proxy') ? true : undefined;
      },
      15_000,
      'a pod created after the annotation to be injected',
    );
  });
});
