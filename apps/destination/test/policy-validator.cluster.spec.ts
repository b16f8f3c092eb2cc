// The policy-validator on a real API server: a ValidatingWebhookConfiguration sends this test's namespace's
// policy resources to a destination on loopback (self-signed certificate), and kubectl shows what a user sees.
// Some mistakes never reach the webhook: the CRD schema refuses them first; those cases say so.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig } from '@trellis/k8s';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { createNamespace, installCrds, startTestDestination } from './harness.ts';

const kubeconfig = inject('kubeconfig');
const kc = loadKubeConfig({ kubeconfig });
const KUBECTL = join(import.meta.dirname, '../../../tools/bin/kubectl');
const WEBHOOK = 'trellis-policy-validator.trellis.io';
const configName = `trellis-policy-validator-test-${randomBytes(3).toString('hex')}`;
let d: Destination;
let ns = '';

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}`.trim() }));
    child.stdin?.end(stdin);
  });
}

const create = (obj: object) => kubectl(['create', '-f', '-'], JSON.stringify(obj));
const POLICY = 'policy.linkerd.io';
const GATEWAY = 'gateway.networking.k8s.io';
const obj = (apiVersion: string, kind: string, name: string, spec: object, annotations?: Record<string, string>) => ({ apiVersion, kind, metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) }, spec });
const server = (name: string, spec: object) => obj(`${POLICY}/v1beta3`, 'Server', name, spec);
const authz = (name: string, spec: object) => obj(`${POLICY}/v1alpha1`, 'AuthorizationPolicy', name, spec);
const meshTLS = (name: string, spec: object) => obj(`${POLICY}/v1alpha1`, 'MeshTLSAuthentication', name, spec);
const netAuthn = (name: string, spec: object) => obj(`${POLICY}/v1alpha1`, 'NetworkAuthentication', name, spec);
const httpRoute = (group: string, name: string, spec: object, annotations?: Record<string, string>) => obj(`${group}/${group === POLICY ? 'v1beta3' : 'v1'}`, 'HTTPRoute', name, spec, annotations);
const grpcRoute = (name: string, spec: object) => obj(`${GATEWAY}/v1`, 'GRPCRoute', name, spec);
const toServer = { group: POLICY, kind: 'Server', name: 'web-http' };
const toService = { group: 'core', kind: 'Service', name: 'web-svc', port: 80 };

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'policy-validator');
  const dir = mkdtempSync(join(tmpdir(), 'policy-validator-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=trellis-policy-validator.trellis.svc', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  d = await startTestDestination(kc, { policyValidatorAddr: { host: '127.0.0.1', port: 0 }, policyValidatorTlsCert: join(dir, 'tls.crt'), policyValidatorTlsKey: join(dir, 'tls.key') });
  const config = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: configName },
    webhooks: [
      {
        name: WEBHOOK,
        clientConfig: { url: `https://127.0.0.1:${d.ports.policyValidator}/`, caBundle: readFileSync(join(dir, 'tls.crt')).toString('base64') },
        rules: [
          { operations: ['CREATE', 'UPDATE'], apiGroups: [POLICY], apiVersions: ['*'], resources: ['authorizationpolicies', 'httproutes', 'meshtlsauthentications', 'networkauthentications', 'serverauthorizations', 'servers'] },
          { operations: ['CREATE', 'UPDATE'], apiGroups: [GATEWAY], apiVersions: ['*'], resources: ['httproutes', 'grpcroutes'] },
        ],
        // Only this test's namespace: the API server is shared with other suites.
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }] },
        admissionReviewVersions: ['v1', 'v1beta1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
      },
    ],
  };
  const r = await kubectl(['create', '-f', '-'], JSON.stringify(config));
  if (r.code !== 0) throw new Error(r.out);
});

afterAll(async () => {
  await kubectl(['delete', 'validatingwebhookconfiguration', configName, '--ignore-not-found']);
  await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  await d?.close();
});

describe('policy-validator through the API server', () => {
  it('admits the walkthrough policy: a Server, a MeshTLSAuthentication and an AuthorizationPolicy', async () => {
    for (const o of [
      server('web-http', { podSelector: { matchLabels: { app: 'web-svc' } }, port: 'http', proxyProtocol: 'HTTP/1' }),
      meshTLS('vote-bot', { identityRefs: [{ kind: 'ServiceAccount', name: 'default' }] }),
      authz('web-from-vote-bot', { targetRef: toServer, requiredAuthenticationRefs: [{ group: POLICY, kind: 'MeshTLSAuthentication', name: 'vote-bot' }] }),
    ]) {
      expect(await create(o)).toMatchObject({ code: 0 });
    }
  });

  it('admits routes, authentications and an update of a Server to itself', async () => {
    for (const o of [
      netAuthn('cluster', { networks: [{ cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] }, { cidr: 'fd00::/8' }] }),
      meshTLS('everyone', { identities: ['*', 'spiffe://cluster.local/ns/shop/sa/web'] }),
      httpRoute(GATEWAY, 'web-api', { parentRefs: [toService], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-api', value: '1' }] } }], backendRefs: [{ name: 'web-svc', port: 80 }] }] }, { 'retry.linkerd.io/http': '5xx' }),
      httpRoute(POLICY, 'web-inbound', { parentRefs: [toServer], rules: [{ matches: [{ path: { type: 'RegularExpression', value: '^/v[0-9]+/' } }], timeouts: { request: '5s', backendRequest: '1s' } }] }),
      grpcRoute('emoji', { parentRefs: [toService], rules: [{ matches: [{ method: { service: 'emojivoto.v1.EmojiService', method: 'ListAll' } }] }] }),
    ]) {
      expect(await create(o)).toMatchObject({ code: 0 });
    }
    expect(await kubectl(['apply', '-f', '-'], JSON.stringify(server('web-http', { podSelector: { matchLabels: { app: 'web-svc' } }, port: 'http', proxyProtocol: 'HTTP/2' })))).toMatchObject({ code: 0 });
  });

  it.each([
    ['an AuthorizationPolicy with an empty requiredAuthenticationRefs', () => authz('nobody', { targetRef: toServer, requiredAuthenticationRefs: [] }), 'AuthorizationPolicy "nobody": spec.requiredAuthenticationRefs is empty, so this policy would authorize nobody'],
    ['an AuthorizationPolicy on a Deployment', () => authz('deploy', { targetRef: { group: 'apps', kind: 'Deployment', name: 'web' }, requiredAuthenticationRefs: [{ kind: 'ServiceAccount', name: 'web' }] }), 'AuthorizationPolicy "deploy": spec.targetRef: kind Deployment.apps cannot be authorized'],
    ['an AuthorizationPolicy on another namespace', () => authz('other-ns', { targetRef: { kind: 'Namespace', name: 'kube-system' }, requiredAuthenticationRefs: [{ kind: 'ServiceAccount', name: 'web' }] }), 'AuthorizationPolicy "other-ns": spec.targetRef: an AuthorizationPolicy cannot target another namespace ("kube-system")'],
    ['an AuthorizationPolicy with two MeshTLSAuthentications', () => authz('two', { targetRef: toServer, requiredAuthenticationRefs: [{ group: POLICY, kind: 'MeshTLSAuthentication', name: 'a' }, { group: POLICY, kind: 'MeshTLSAuthentication', name: 'b' }] }), 'AuthorizationPolicy "two": spec.requiredAuthenticationRefs: only one MeshTLSAuthentication may be set'],
    ['a MeshTLSAuthentication with an empty identity', () => meshTLS('blank', { identities: [''] }), 'MeshTLSAuthentication "blank": spec.identities[0]: "" is not a valid identity'],
    ['a MeshTLSAuthentication naming a Deployment', () => meshTLS('deploy', { identityRefs: [{ group: 'apps', kind: 'Deployment', name: 'web' }] }), 'MeshTLSAuthentication "deploy": spec.identityRefs[0]: kind Deployment.apps names no identities; use ServiceAccount or Namespace'],
    ['a NetworkAuthentication without networks', () => netAuthn('none', { networks: [] }), 'NetworkAuthentication "none": spec.networks: at least one network must be specified'],
    ['a NetworkAuthentication with a bad CIDR', () => netAuthn('bad-cidr', { networks: [{ cidr: '10.0.0.0/33' }] }), 'NetworkAuthentication "bad-cidr": spec.networks[0].cidr: "10.0.0.0/33" is not a network'],
    ['a NetworkAuthentication excepting its whole network', () => netAuthn('negated', { networks: [{ cidr: '10.1.0.0/16', except: ['10.0.0.0/8'] }] }), 'NetworkAuthentication "negated": spec.networks[0].except[0]: "10.0.0.0/8" covers all of cidr "10.1.0.0/16"'],
    ['a second Server for the same pods and port', () => server('web-http-2', { podSelector: { matchLabels: { app: 'web-svc' } }, port: 'http' }), 'Server "web-http-2": spec.podSelector: Server <ns>/web-http already defines a policy for port http'],
    ['an HTTPRoute with a bad path regex', () => httpRoute(POLICY, 'bad-regex', { parentRefs: [toServer], rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(v1' } }] }] }), 'HTTPRoute "bad-regex": spec.rules[0].matches[0].path: "/(v1" is not a valid regular expression'],
    ['an HTTPRoute whose backend timeout outlasts the request', () => httpRoute(POLICY, 'timeouts', { parentRefs: [toServer], rules: [{ timeouts: { request: '1s', backendRequest: '5s' } }] }), 'HTTPRoute "timeouts": spec.rules[0].timeouts.backendRequest (5s) must not be longer than spec.rules[0].timeouts.request (1s)'],
    ['an HTTPRoute with an unreadable retry annotation', () => httpRoute(GATEWAY, 'retry', { parentRefs: [toService] }, { 'retry.linkerd.io/http': '6xx' }), 'HTTPRoute "retry": metadata.annotations[retry.linkerd.io/http]: "6xx" is not 5xx, gateway-error, a status code (100-599) or a range a-b'],
    ['an HTTPRoute sending to a Service without a port', () => httpRoute(GATEWAY, 'no-port', { parentRefs: [toService], rules: [{ backendRefs: [{ name: 'web-svc' }] }] }), 'HTTPRoute "no-port": spec.rules[0].backendRefs[0].port is required'],
    ['a GRPCRoute matching no service and no method', () => grpcRoute('empty-method', { parentRefs: [toService], rules: [{ matches: [{ method: { type: 'Exact' } }] }] }), 'GRPCRoute "empty-method": spec.rules[0].matches[0].method: at least one of service and method must be a non-empty string'],
  ])('refuses %s, with the field in the message', async (_, make, message) => {
    const r = await create(make());
    if (process.env['SHOW_KUBECTL']) console.log(`[kubectl] ${r.out}`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`admission webhook "${WEBHOOK}" denied the request: ${message.replace('<ns>', ns)}`);
  });

  it.each([
    ['an AuthorizationPolicy without requiredAuthenticationRefs', () => authz('missing', { targetRef: toServer }), 'The AuthorizationPolicy "missing" is invalid: spec.requiredAuthenticationRefs: Required value'],
    ['a Server without a selector', () => server('no-selector', { port: 80 }), 'The Server "no-selector" is invalid: spec: Invalid value: "object": a Server selects workloads with exactly one of spec.podSelector'],
    ['a Server with both selectors', () => server('both', { podSelector: {}, externalWorkloadSelector: {}, port: 80 }), 'The Server "both" is invalid: spec: Invalid value: "object": a Server selects workloads with exactly one of spec.podSelector'],
  ])('refuses %s by the CRD schema before the webhook', async (_, make, message) => {
    const r = await create(make());
    if (process.env['SHOW_KUBECTL']) console.log(`[kubectl] ${r.out}`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(message);
    expect(r.out).not.toContain('admission webhook');
  });
});
