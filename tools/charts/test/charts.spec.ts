// The charts as an operator meets them: lint, rendered output (golden), HA overrides, schema errors, the
// trust-anchor guard, and per-component rollout. helm is the pinned binary from tools/bin.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '@trellis/config';
import { inject, resolveValues } from '@trellis/inject';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateSchemas } from '../src/chart-schemas.ts';
import { CHARTS, HELM, KUBE_VERSION, REPO_ROOT, lint, render, run, template, type RenderOptions } from '../src/helm.ts';
import { find, ofKind, parseManifests, podTemplate, type KubeObject } from '../src/manifests.ts';
import { CUSTOM, GOLDEN_CASES, GOLDEN_DIR, IDENTITY, VALUES_HA, WEBHOOK_TLS, goldenText } from './golden.ts';

const DEPLOYMENTS = ['trellis-identity', 'trellis-destination', 'trellis-proxy-injector'] as const;
const base: RenderOptions = { values: [IDENTITY, WEBHOOK_TLS] };
const withValues = (...extra: string[]): RenderOptions => ({ values: [IDENTITY, WEBHOOK_TLS, ...extra] });

async function objects(chart: string, opts: RenderOptions): Promise<KubeObject[]> {
  return parseManifests(await render(chart, opts));
}

function spec(o: KubeObject): Record<string, unknown> {
  return o['spec'] as Record<string, unknown>;
}

describe('helm lint --strict', () => {
  it.each([
    ['trellis-control-plane with default values', CHARTS.controlPlane, base],
    ['trellis-control-plane with values-ha.yaml', CHARTS.controlPlane, withValues(VALUES_HA)],
    ['trellis-crds with default values', CHARTS.crds, {}],
    ['trellis-crds with the Gateway API routes', CHARTS.crds, { set: { installGatewayAPI: 'true' } }],
  ])('passes for %s', async (_name, chart, opts) => {
    const r = await lint(chart, opts);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('golden renders', () => {
  it.each(GOLDEN_CASES.map((c) => [c.name, c] as const))('%s matches its golden file', async (name, c) => {
    const out = goldenText(await render(c.chart, c.opts));
    const file = join(GOLDEN_DIR, `${name}.yaml`);
    if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(file, out);
    const golden = await readFile(file, 'utf8').catch(() => '');
    expect(out, `${file} differs (UPDATE_GOLDEN=1 refreshes it after review)`).toBe(golden);
  });
});

describe('versions', () => {
  it('keeps both charts, linkerdVersion and the image tags at the release version', async () => {
    for (const chart of [CHARTS.controlPlane, CHARTS.crds]) {
      const meta = parse(await readFile(join(chart, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
      expect([meta.version, meta.appVersion]).toEqual([VERSION, VERSION]);
    }
    const values = parse(await readFile(join(CHARTS.controlPlane, 'values.yaml'), 'utf8')) as { linkerdVersion: string };
    expect(values.linkerdVersion).toBe(VERSION);
    const deployments = ofKind(await objects(CHARTS.controlPlane, base), 'Deployment');
    const images = deployments.flatMap((d) => {
      const s = podTemplate(d)['spec'] as { containers: { image: string }[]; initContainers?: { image: string }[] };
      return [...s.containers, ...(s.initContainers ?? [])].map((c) => c.image);
    });
    expect(new Set(images)).toEqual(
      new Set(['trellis/identity', 'trellis/destination', 'trellis/proxy-injector', 'trellis/proxy', 'trellis/proxy-init'].map((i) => `${i}:${VERSION}`)),
    );
  });
});

describe('values-ha.yaml', () => {
  let ha: KubeObject[];
  beforeAll(async () => {
    ha = await objects(CHARTS.controlPlane, withValues(VALUES_HA));
  });

  it("carries Linkerd's HA overrides (less heartbeat and sp-validator resources, which have no Trellis counterpart)", async () => {
    const controller = { cpu: { limit: '', request: '100m' }, memory: { limit: '250Mi', request: '50Mi' } };
    expect(parse(await readFile(VALUES_HA, 'utf8'))).toEqual({
      enablePodDisruptionBudget: true,
      controller: { podDisruptionBudget: { maxUnavailable: 1 } },
      deploymentStrategy: { rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } },
      enablePodAntiAffinity: true,
      proxy: { resources: { cpu: { request: '100m' }, memory: { limit: '250Mi', request: '20Mi' } } },
      controllerReplicas: 3,
      destinationResources: controller,
      identityResources: { cpu: controller.cpu, memory: { limit: '250Mi', request: '10Mi' } },
      proxyInjectorResources: controller,
      webhookFailurePolicy: 'Fail',
      highAvailability: true,
    });
  });

  it('runs three replicas of every controller, rolling one pod at a time', () => {
    for (const name of DEPLOYMENTS) {
      const s = spec(find(ha, 'Deployment', name)) as { replicas: number; strategy: { rollingUpdate: { maxUnavailable: unknown } } };
      expect([name, s.replicas, s.strategy.rollingUpdate.maxUnavailable]).toEqual([name, 3, 1]);
    }
  });

  it('gives every controller a PodDisruptionBudget selecting its pods', () => {
    const pdbs = ofKind(ha, 'PodDisruptionBudget');
    expect(pdbs.map((p) => p.metadata.name).sort()).toEqual(['trellis-dst', 'trellis-identity', 'trellis-proxy-injector']);
    for (const [pdb, component] of [
      ['trellis-identity', 'identity'],
      ['trellis-dst', 'destination'],
      ['trellis-proxy-injector', 'proxy-injector'],
    ] as const) {
      const s = spec(find(ha, 'PodDisruptionBudget', pdb)) as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
      expect(s.maxUnavailable).toBe(1);
      expect(s.selector.matchLabels['linkerd.io/control-plane-component']).toBe(component);
    }
  });

  it('requires spreading over hosts and prefers spreading over zones', () => {
    for (const [name, component] of [
      ['trellis-identity', 'identity'],
      ['trellis-destination', 'destination'],
      ['trellis-proxy-injector', 'proxy-injector'],
    ] as const) {
      const anti = (podTemplate(find(ha, 'Deployment', name))['spec'] as { affinity: { podAntiAffinity: Record<string, unknown[]> } }).affinity.podAntiAffinity;
      const selector = { matchExpressions: [{ key: 'linkerd.io/control-plane-component', operator: 'In', values: [component] }] };
      expect(anti['requiredDuringSchedulingIgnoredDuringExecution']).toEqual([{ labelSelector: selector, topologyKey: 'kubernetes.io/hostname' }]);
      expect(anti['preferredDuringSchedulingIgnoredDuringExecution']).toEqual([
        { weight: 100, podAffinityTerm: { labelSelector: selector, topologyKey: 'topology.kubernetes.io/zone' } },
      ]);
    }
  });

  it('makes every webhook fail closed (injector, sp-validator, policy-validator)', () => {
    const hooks = [...ofKind(ha, 'MutatingWebhookConfiguration'), ...ofKind(ha, 'ValidatingWebhookConfiguration')];
    expect(hooks).toHaveLength(3);
    for (const h of hooks) for (const w of h['webhooks'] as { failurePolicy: string }[]) expect(w.failurePolicy).toBe('Fail');
  });

  it('sets controller and proxy resources', () => {
    const pod = podTemplate(find(ha, 'Deployment', 'trellis-destination'))['spec'] as {
      containers: { name: string; resources?: unknown }[];
      initContainers: { name: string; resources?: unknown }[];
    };
    expect(pod.containers.find((c) => c.name === 'destination')?.resources).toEqual({
      limits: { memory: '250Mi' },
      requests: { cpu: '100m', memory: '50Mi' },
    });
    expect(pod.initContainers.find((c) => c.name === 'linkerd-proxy')?.resources).toEqual({
      limits: { memory: '250Mi' },
      requests: { cpu: '100m', memory: '20Mi' },
    });
  });

  it('leaves the default install at one replica, no PDBs, no anti-affinity and failure policy Ignore', async () => {
    const def = await objects(CHARTS.controlPlane, base);
    expect(ofKind(def, 'PodDisruptionBudget')).toEqual([]);
    for (const name of DEPLOYMENTS) {
      const d = find(def, 'Deployment', name);
      expect((spec(d) as { replicas: number }).replicas).toBe(1);
      expect((podTemplate(d)['spec'] as { affinity?: unknown }).affinity).toBeUndefined();
    }
    expect((find(def, 'MutatingWebhookConfiguration', 'trellis-proxy-injector-webhook-config')['webhooks'] as { failurePolicy: string }[])[0]?.failurePolicy).toBe('Ignore');
  });
});

describe('values.schema.json', () => {
  it('is what gen-schema derives from values.yaml', async () => {
    for (const { path, text } of generateSchemas()) expect(await readFile(path, 'utf8'), `${path} is stale: node tools/charts/src/gen-schema.ts`).toBe(text);
  });

  it('rejects a misspelled key, naming it and where it is', async () => {
    const r = await template(CHARTS.controlPlane, { ...base, set: { 'proxyInjector.timeoutSecond': '5' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\/proxyInjector.*timeoutSecond/);
  });

  it('rejects a misspelled top-level key', async () => {
    const r = await template(CHARTS.controlPlane, { ...base, set: { controllerReplica: '3' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("'controllerReplica' not allowed");
  });

  it('rejects a string where a number belongs, naming the key', async () => {
    const r = await template(CHARTS.controlPlane, { ...base, setString: { controllerReplicas: 'three' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\/controllerReplicas'?: got string, want integer/);
  });

  it('rejects a value outside an enum, naming the key', async () => {
    const r = await template(CHARTS.controlPlane, { ...base, set: { webhookFailurePolicy: 'Sometimes' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('/webhookFailurePolicy');
  });

  it('rejects a misspelled key of the CRD chart', async () => {
    const r = await template(CHARTS.crds, { set: { installGatewayApi: 'true' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("'installGatewayApi' not allowed");
  });

  it('accepts the example values of the custom case (lists, maps, nullable numbers, int-or-string)', async () => {
    const r = await template(CHARTS.controlPlane, { values: [IDENTITY, WEBHOOK_TLS, CUSTOM], set: { 'controller.podDisruptionBudget.maxUnavailable': '50%', 'proxy.runtime.workers.maximum': '4' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('trust anchors and issuer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-charts-certs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to render without trust anchors and says how to make them', async () => {
    const r = await template(CHARTS.controlPlane, {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('identityTrustAnchorsPEM is empty');
    expect(r.stderr).toContain('node libs/pki/src/certs-cli.ts --out certs');
    expect(r.stderr).toContain('--set-file identityTrustAnchorsPEM=certs/ca.crt');
  });

  it('refuses to render without an issuer and names the keys', async () => {
    const anchors = (parse(await readFile(IDENTITY, 'utf8')) as { identityTrustAnchorsPEM: string }).identityTrustAnchorsPEM;
    const file = join(dir, 'anchors-only.yaml');
    await writeFile(file, `identityTrustAnchorsPEM: ${JSON.stringify(anchors)}\n`);
    const r = await template(CHARTS.controlPlane, { values: [file] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('identity.issuer.tls.crtPEM and identity.issuer.tls.keyPEM are required');
    expect(r.stderr).toContain('--set-file identity.issuer.tls.keyPEM=certs/issuer.key');
  });

  it('refuses trust anchors that are not PEM certificates', async () => {
    const r = await template(CHARTS.controlPlane, { ...base, set: { identityTrustAnchorsPEM: 'not-a-certificate' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('identityTrustAnchorsPEM is not a PEM certificate bundle');
  });

  it('renders with the files the suggested command writes, passed as suggested', async () => {
    const made = await run(process.execPath, [join(REPO_ROOT, 'libs/pki/src/certs-cli.ts'), '--out', dir]);
    expect(made.stderr).toBe('');
    const r = await run(HELM, [
      'template', 'trellis', CHARTS.controlPlane, '-n', 'trellis', '--kube-version', KUBE_VERSION,
      '--set-file', `identityTrustAnchorsPEM=${join(dir, 'ca.crt')}`,
      '--set-file', `identity.issuer.tls.crtPEM=${join(dir, 'issuer.crt')}`,
      '--set-file', `identity.issuer.tls.keyPEM=${join(dir, 'issuer.key')}`,
    ]);
    expect(r.stderr).toBe('');
    const issuer = find(parseManifests(r.stdout), 'Secret', 'trellis-identity-issuer') as KubeObject & { data: Record<string, string> };
    expect(Buffer.from(issuer.data['crt.pem'] ?? '', 'base64').toString()).toBe(await readFile(join(dir, 'issuer.crt'), 'utf8'));
  });

  it('never copies a private key into trellis-config', async () => {
    const cm = find(await objects(CHARTS.controlPlane, base), 'ConfigMap', 'trellis-config') as KubeObject & { data: { values: string } };
    expect(cm.data.values).not.toContain('PRIVATE KEY');
    const values = parse(cm.data.values) as { identity: { issuer: { tls: Record<string, string> } }; proxy: { uid: number } };
    expect(Object.keys(values.identity.issuer.tls)).toEqual(['crtPEM']);
    expect(values.proxy.uid).toBe(2102);
  });
});

describe('webhooks', () => {
  it('generates a certificate for the injector service when none is given, and trusts exactly it', async () => {
    const objs = await objects(CHARTS.controlPlane, { values: [IDENTITY] });
    const secret = find(objs, 'Secret', 'trellis-proxy-injector-k8s-tls') as KubeObject & { data: Record<string, string> };
    const hook = find(objs, 'MutatingWebhookConfiguration', 'trellis-proxy-injector-webhook-config');
    const caBundle = (hook['webhooks'] as { clientConfig: { caBundle: string } }[])[0]?.clientConfig.caBundle;
    expect(caBundle).toBe(secret.data['tls.crt']);
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
    expect(cert.subjectAltName).toBe('DNS:trellis-proxy-injector.trellis.svc');
  });

  it('keeps the injector away from the control plane and from opted-out namespaces', async () => {
    const hook = find(await objects(CHARTS.controlPlane, base), 'MutatingWebhookConfiguration', 'trellis-proxy-injector-webhook-config');
    const w = (hook['webhooks'] as Record<string, { matchExpressions: { key: string; operator: string; values?: string[] }[] }>[])[0];
    expect(w?.['namespaceSelector']?.matchExpressions).toContainEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['trellis'] });
    expect(w?.['namespaceSelector']?.matchExpressions).toContainEqual({ key: 'config.linkerd.io/admission-webhooks', operator: 'NotIn', values: ['disabled'] });
    expect(w?.['objectSelector']?.matchExpressions).toContainEqual({ key: 'linkerd.io/control-plane-component', operator: 'DoesNotExist' });
  });
});

describe('policy-validator', () => {
  type Hook = { name: string; clientConfig: { service: { name: string; namespace: string; path: string }; caBundle?: string }; failurePolicy: string; rules: { apiGroups: string[]; resources: string[]; operations: string[] }[]; namespaceSelector: unknown; sideEffects: string; timeoutSeconds: number };
  const hookOf = (objs: KubeObject[]) => (find(objs, 'ValidatingWebhookConfiguration', 'trellis-policy-validator-webhook-config')['webhooks'] as Hook[])[0] as Hook;

  it("sends Linkerd's policy resources that destination reads to destination's 9443 through Service trellis-policy-validator", async () => {
    const objs = await objects(CHARTS.controlPlane, base);
    const hook = hookOf(objs);
    expect(hook).toMatchObject({
      name: 'trellis-policy-validator.trellis.io',
      clientConfig: { service: { name: 'trellis-policy-validator', namespace: 'trellis', path: '/' } },
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      timeoutSeconds: 10,
      namespaceSelector: { matchExpressions: [{ key: 'config.linkerd.io/admission-webhooks', operator: 'NotIn', values: ['disabled'] }] },
    });
    expect(hook.rules.map((r) => [r.apiGroups, r.resources, r.operations])).toEqual([
      [['policy.linkerd.io'], ['authorizationpolicies', 'httproutes', 'meshtlsauthentications', 'networkauthentications', 'serverauthorizations', 'servers'], ['CREATE', 'UPDATE']],
      [['gateway.networking.k8s.io'], ['httproutes', 'grpcroutes'], ['CREATE', 'UPDATE']],
    ]);
    expect(spec(find(objs, 'Service', 'trellis-policy-validator'))).toMatchObject({ ports: [{ name: 'policy-https', port: 443, targetPort: 'policy-https' }] });
    const pod = podTemplate(find(objs, 'Deployment', 'trellis-destination'))['spec'] as { containers: { name: string; args: string[]; ports: { name: string; containerPort: number }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] };
    const dst = pod.containers.find((c) => c.name === 'destination');
    expect(dst?.args).toEqual(expect.arrayContaining(['--policy-validator-addr=:9443', '--policy-validator-tls-cert=/var/run/linkerd/policy-tls/tls.crt', '--policy-validator-tls-key=/var/run/linkerd/policy-tls/tls.key']));
    expect(dst?.ports).toContainEqual({ name: 'policy-https', containerPort: 9443 });
    expect(pod.volumes).toContainEqual({ name: 'policy-tls', secret: { secretName: 'trellis-policy-validator-k8s-tls' } });
  });

  it('generates its own certificate for its service when none is given, and trusts exactly it', async () => {
    const objs = await objects(CHARTS.controlPlane, { values: [IDENTITY] });
    const secret = find(objs, 'Secret', 'trellis-policy-validator-k8s-tls') as KubeObject & { data: Record<string, string> };
    expect(hookOf(objs).clientConfig.caBundle).toBe(secret.data['tls.crt']);
    expect(new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64')).subjectAltName).toBe('DNS:trellis-policy-validator.trellis.svc');
  });

  it('leaves the Secret and caBundle to cert-manager when asked, and refuses a certificate without its key', async () => {
    const objs = await objects(CHARTS.controlPlane, { values: [IDENTITY], set: { 'policyValidator.externalSecret': 'true', 'policyValidator.injectCaFrom': 'trellis/policy-validator' } });
    expect(ofKind(objs, 'Secret').map((o) => o.metadata.name)).not.toContain('trellis-policy-validator-k8s-tls');
    expect(hookOf(objs).clientConfig.caBundle).toBeUndefined();
    expect(find(objs, 'ValidatingWebhookConfiguration', 'trellis-policy-validator-webhook-config').metadata).toMatchObject({ annotations: { 'cert-manager.io/inject-ca-from': 'trellis/policy-validator' } });
    const r = await template(CHARTS.controlPlane, { values: [IDENTITY], set: { 'policyValidator.crtPEM': '-----BEGIN CERTIFICATE-----' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('policyValidator.crtPEM is set but policyValidator.keyPEM is empty');
  });

  it('keeps its private key out of trellis-config', async () => {
    const cm = find(await objects(CHARTS.controlPlane, base), 'ConfigMap', 'trellis-config') as KubeObject & { data: { values: string } };
    expect(Object.keys((parse(cm.data.values) as { policyValidator: object }).policyValidator)).not.toContain('keyPEM');
  });
});

describe('per-component rollout', () => {
  let before: KubeObject[];
  beforeAll(async () => {
    before = await objects(CHARTS.controlPlane, base);
  });

  async function changedTemplates(set: Record<string, string>, extraValues: readonly string[] = []): Promise<string[]> {
    const after = await objects(CHARTS.controlPlane, { values: [IDENTITY, WEBHOOK_TLS, ...extraValues], set });
    return DEPLOYMENTS.filter(
      (name) => JSON.stringify(podTemplate(find(before, 'Deployment', name))) !== JSON.stringify(podTemplate(find(after, 'Deployment', name))),
    );
  }

  it('rolls only the injector when proxyInjector values change', async () => {
    expect(await changedTemplates({ 'proxyInjector.image.version': '0.1.1' })).toEqual(['trellis-proxy-injector']);
    expect(await changedTemplates({ 'proxyInjector.podAnnotations.team': 'mesh' })).toEqual(['trellis-proxy-injector']);
  });

  it('rolls only the injector when its webhook certificate changes', async () => {
    // Serve the validator's certificate from the injector: a different certificate, still a valid render.
    const pv = (parse(await readFile(WEBHOOK_TLS, 'utf8')) as { profileValidator: Record<string, string> }).profileValidator;
    const dir = await mkdtemp(join(tmpdir(), 'trellis-charts-rollout-'));
    try {
      const file = join(dir, 'injector-tls.yaml');
      await writeFile(file, stringify({ proxyInjector: { crtPEM: pv['crtPEM'], keyPEM: pv['keyPEM'], caBundle: pv['caBundle'] } }));
      expect(await changedTemplates({}, [file])).toEqual(['trellis-proxy-injector']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls only destination when its policy-validator certificate changes', async () => {
    const pv = (parse(await readFile(WEBHOOK_TLS, 'utf8')) as { profileValidator: Record<string, string> }).profileValidator;
    const dir = await mkdtemp(join(tmpdir(), 'trellis-charts-rollout-'));
    try {
      const file = join(dir, 'policy-tls.yaml');
      await writeFile(file, stringify({ policyValidator: { crtPEM: pv['crtPEM'], keyPEM: pv['keyPEM'], caBundle: pv['caBundle'] } }));
      expect(await changedTemplates({}, [file])).toEqual(['trellis-destination']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls only identity when the issuance lifetime changes', async () => {
    expect(await changedTemplates({ 'identity.issuer.issuanceLifetime': '12h' })).toEqual(['trellis-identity']);
  });

  it('rolls only destination when its image or probe networks change', async () => {
    expect(await changedTemplates({ 'destinationController.image.version': '0.1.1' })).toEqual(['trellis-destination']);
    expect(await changedTemplates({ 'policyController.probeNetworks[0]': '10.0.0.0/8' })).toEqual(['trellis-destination']);
    expect(await changedTemplates({ 'policyController.allowL5dRequestHeaders': 'true' })).toEqual(['trellis-destination']);
  });

  it('rolls every controller when the proxy configuration changes (each runs a proxy; the injector injects it)', async () => {
    expect(await changedTemplates({ 'proxy.logLevel': 'debug' })).toEqual([...DEPLOYMENTS]);
  });

  it('rolls the injector for injection values it reads from trellis-config, not only for its own Deployment fields', async () => {
    const after = await objects(CHARTS.controlPlane, { ...base, set: { 'proxyInit.ignoreOutboundPorts': '25' } });
    const ann = (d: KubeObject[]) => (podTemplate(find(d, 'Deployment', 'trellis-proxy-injector'))['metadata'] as { annotations: Record<string, string> }).annotations;
    expect(ann(after)['checksum/inject-values']).not.toBe(ann(before)['checksum/inject-values']);
  });
});

describe('agreement with the components', () => {
  let objs: KubeObject[];
  beforeAll(async () => {
    objs = await objects(CHARTS.controlPlane, base);
  });

  type Container = { name: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; ports?: unknown[] };
  const podSpec = (name: string) => podTemplate(find(objs, 'Deployment', name))['spec'] as { containers: Container[]; initContainers: Container[] };

  async function helpOf(app: string): Promise<string> {
    const r = await run(process.execPath, [join(REPO_ROOT, 'apps', app, 'src/main.ts'), '--help']);
    expect(r.code, `${app} --help: ${r.stderr}`).toBe(0);
    return r.stdout;
  }
  const flagsOf = (args: readonly string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0] as string);

  it.each([
    ['trellis-identity', 'identity'],
    ['trellis-destination', 'destination'],
    ['trellis-proxy-injector', 'proxy-injector'],
  ])('passes %s only flags that its component accepts', async (deployment, app) => {
    const container = podSpec(deployment).containers.find((c) => c.name === app);
    const help = await helpOf(app);
    const flags = flagsOf(container?.args ?? []);
    expect(flags.length).toBeGreaterThan(5);
    expect(flags.filter((f) => !new RegExp(`${f}\\b`).test(help))).toEqual([]);
  });

  it('passes proxy-init only flags it accepts', async () => {
    const init = podSpec('trellis-destination').initContainers.find((c) => c.name === 'linkerd-init');
    const help = await helpOf('proxy-init');
    expect(flagsOf(init?.args ?? []).filter((f) => !new RegExp(`${f}\\b`).test(help))).toEqual([]);
  });

  it("gives the injector's own proxy and proxy-init what libs/inject gives an injected pod with the same values", () => {
    const cm = find(objs, 'ConfigMap', 'trellis-config') as KubeObject & { data: { values: string } };
    const tpl = podTemplate(find(objs, 'Deployment', 'trellis-proxy-injector')) as { metadata: Record<string, unknown>; spec: { containers: Container[] } };
    const app = tpl.spec.containers.find((c) => c.name === 'proxy-injector');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'injector', namespace: 'trellis', annotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/opaque-ports': '8443' } },
      spec: { serviceAccountName: 'trellis-proxy-injector', containers: [{ name: 'proxy-injector', image: 'x', ports: app?.ports }] },
    };
    const result = inject({ object: pod, values: resolveValues(parse(cm.data.values)), origin: 'webhook', controlPlaneNamespace: 'trellis' });
    expect(result.injected).toBe(true);
    const injected = result.patch.map((op) => op.value as Container | undefined).find((v) => v?.name === 'linkerd-proxy');
    const chart = [...tpl.spec.containers, ...((tpl.spec as { initContainers?: Container[] }).initContainers ?? [])].find((c) => c.name === 'linkerd-proxy');
    // The one intended difference: control-plane proxies read the anchors from the trust-roots ConfigMap.
    const anchors = (e: { name: string; value?: string; valueFrom?: unknown }) =>
      e.name === 'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS' ? { name: e.name, value: '<trust anchors>' } : e;
    expect(chart?.env?.map(anchors)).toEqual(injected?.env?.map(anchors));

    // proxy-init likewise, except that controllers skip the kube-apiserver ports (proxyInit.kubeAPIServerPorts).
    type Init = Container & { securityContext?: unknown };
    const injectedInit = result.patch.map((op) => op.value as Init | undefined).find((v) => v?.name === 'linkerd-init');
    const chartInit = ((tpl.spec as { initContainers?: Init[] }).initContainers ?? []).find((c) => c.name === 'linkerd-init');
    const outbound = (args: readonly string[] = []) => args[args.indexOf('--outbound-ports-to-ignore') + 1];
    expect([outbound(chartInit?.args), outbound(injectedInit?.args)]).toEqual(['443,6443', '4567,4568']);
    const withoutOutbound = (args: readonly string[] = []) => args.filter((_, i) => i !== args.indexOf('--outbound-ports-to-ignore') + 1);
    expect(withoutOutbound(chartInit?.args)).toEqual(withoutOutbound(injectedInit?.args));
    expect(chartInit?.securityContext).toEqual(injectedInit?.securityContext);
  });
});
