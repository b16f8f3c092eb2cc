// InboundServerPolicies with authorization resources against the real API server: a Server with nothing
// authorizing it allows nothing; AuthorizationPolicies (on the Server, on the namespace, on an HTTPRoute)
// with MeshTLSAuthentication, NetworkAuthentication and ServiceAccount references, and ServerAuthorizations,
// become Authz messages; an HTTPRoute on the Server replaces the default route; WatchPort follows changes.
import { loadKubeConfig } from '@trellis/k8s';
import { ipNetworkToString, type inbound } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createPod, installCrds, startTestDestination, type Collected } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const k = api(kc);
let d: Destination;
let c: ReturnType<typeof clients>;
let ns = '';
let w: Collected<inbound.Server>;

const POLICY = 'policy.linkerd.io';
const id = (sa: string, namespace: string) => `${sa}.${namespace}.serviceaccount.identity.trellis.cluster.local`;
const create = (plural: string, version: string, kind: string, name: string, spec: object) =>
  k.custom.createNamespacedCustomObject({ group: POLICY, version, namespace: ns, plural, body: { apiVersion: `${POLICY}/${version}`, kind, metadata: { name }, spec } });
const remove = (plural: string, version: string, name: string) => k.custom.deleteNamespacedCustomObject({ group: POLICY, version, namespace: ns, plural, name });

type Named = { metadata?: { kind?: { $case: string; value: unknown } } };
const nameOf = (a: Named) => (a.metadata?.kind?.$case === 'resource' ? (a.metadata.kind.value as { name: string }).name : `default:${String(a.metadata?.kind?.value)}`);
const authzNames = (s: inbound.Server) => s.authorizations.map(nameOf);
const nets = (a: inbound.Authz | undefined) => (a?.networks ?? []).map((n) => ({ net: n.net ? ipNetworkToString(n.net) : '', except: n.except.map(ipNetworkToString) }));

function http1Routes(s: inbound.Server): inbound.HttpRoute[] {
  if (s.protocol?.kind?.$case !== 'http1') throw new Error(`expected http1, got ${s.protocol?.kind?.$case}`);
  return s.protocol.kind.value.routes;
}

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-authz');
  d = await startTestDestination(kc);
  c = clients(d);
  await createPod(kc, ns, 'api', '10.40.0.1', { meshed: true, labels: { app: 'api' }, ports: [{ name: 'http', containerPort: 8080 }] });
  await k.custom.createNamespacedCustomObject({
    group: POLICY, version: 'v1beta3', namespace: ns, plural: 'servers',
    body: { apiVersion: `${POLICY}/v1beta3`, kind: 'Server', metadata: { name: 'api-http', labels: { tier: 'backend' } }, spec: { podSelector: { matchLabels: { app: 'api' } }, port: 'http', proxyProtocol: 'HTTP/1' } },
  });
  w = collect(c.inbound.watchPort({ workload: JSON.stringify({ ns, pod: 'api' }), port: 8080 }));
});

afterAll(async () => {
  w?.cancel();
  await d?.close();
});

describe('authorizations of a Server', () => {
  it('allow nothing while nothing authorizes the Server', async () => {
    const s = await w.next('server policy', (x) => x.labels['kind'] === 'server');
    expect(s.labels).toEqual({ group: POLICY, kind: 'server', name: 'api-http' });
    expect(s.authorizations).toEqual([]);
    expect(http1Routes(s).map(nameOf)).toEqual(['default:default']);
  });

  it('turn an AuthorizationPolicy with mesh TLS and network authentications into one Authz', async () => {
    await create('meshtlsauthentications', 'v1alpha1', 'MeshTLSAuthentication', 'web-clients', {
      identities: [`*.prod.serviceaccount.identity.trellis.cluster.local`, id('batch', 'jobs'), id('web', ns)],
    });
    await create('meshtlsauthentications', 'v1alpha1', 'MeshTLSAuthentication', 'by-ref', { identityRefs: [{ kind: 'ServiceAccount', name: 'web' }, { kind: 'Namespace', name: 'batch' }] });
    await create('authorizationpolicies', 'v1alpha1', 'AuthorizationPolicy', 'refs', {
      targetRef: { group: POLICY, kind: 'Server', name: 'api-http' },
      requiredAuthenticationRefs: [{ group: POLICY, kind: 'MeshTLSAuthentication', name: 'by-ref' }],
    });
    await create('networkauthentications', 'v1alpha1', 'NetworkAuthentication', 'office', { networks: [{ cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] }, { cidr: '192.168.0.1' }] });
    await create('authorizationpolicies', 'v1alpha1', 'AuthorizationPolicy', 'web-to-api', {
      targetRef: { group: POLICY, kind: 'Server', name: 'api-http' },
      requiredAuthenticationRefs: [{ group: POLICY, kind: 'MeshTLSAuthentication', name: 'web-clients' }, { group: POLICY, kind: 'NetworkAuthentication', name: 'office' }],
    });
    // A policy whose authentication does not exist authorizes nobody.
    await create('authorizationpolicies', 'v1alpha1', 'AuthorizationPolicy', 'dangling', {
      targetRef: { group: POLICY, kind: 'Server', name: 'api-http' },
      requiredAuthenticationRefs: [{ group: POLICY, kind: 'MeshTLSAuthentication', name: 'nobody' }],
    });
    const s = await w.next('web-to-api and refs', (x) => authzNames(x).length === 2);
    expect(authzNames(s)).toEqual(['refs', 'web-to-api']);
    expect(s.authorizations[0]?.authentication?.permit).toEqual({
      $case: 'meshTLS',
      value: { clients: { $case: 'identities', value: { identities: [{ name: id('web', ns) }], suffixes: [{ parts: ['batch', 'serviceaccount', 'identity', 'trellis', 'cluster', 'local'] }] } } },
    });
    expect(nets(s.authorizations[0]).map((n) => n.net)).toEqual(['0.0.0.0/0', '::/0']);
    const a = s.authorizations[1];
    expect(a?.metadata).toEqual({ kind: { $case: 'resource', value: { group: POLICY, kind: 'authorizationpolicy', name: 'web-to-api', namespace: '', section: '', port: 0 } } });
    expect(a?.labels).toEqual({ group: POLICY, kind: 'authorizationpolicy', name: 'web-to-api' });
    expect(nets(a)).toEqual([{ net: '10.1.0.0/16', except: ['10.1.2.0/24'] }, { net: '192.168.0.1/32', except: [] }]);
    expect(a?.authentication).toEqual({
      permit: {
        $case: 'meshTLS',
        value: { clients: { $case: 'identities', value: { identities: [{ name: id('batch', 'jobs') }, { name: id('web', ns) }], suffixes: [{ parts: ['prod', 'serviceaccount', 'identity', 'trellis', 'cluster', 'local'] }] } } },
      },
    });
  });

  it('add namespace-wide AuthorizationPolicies and ServerAuthorizations (cluster networks by default)', async () => {
    await create('authorizationpolicies', 'v1alpha1', 'AuthorizationPolicy', 'admins', { targetRef: { kind: 'Namespace', name: ns }, requiredAuthenticationRefs: [{ kind: 'ServiceAccount', name: 'admin', namespace: 'ops' }] });
    await create('serverauthorizations', 'v1beta1', 'ServerAuthorization', 'legacy', { server: { selector: { matchLabels: { tier: 'backend' } } }, client: { unauthenticated: true } });
    await create('serverauthorizations', 'v1beta1', 'ServerAuthorization', 'other', { server: { name: 'not-this-one' }, client: { unauthenticated: true } });
    const s = await w.next('four authorizations', (x) => x.authorizations.length === 4);
    expect(authzNames(s)).toEqual(['admins', 'refs', 'web-to-api', 'legacy']);
    const admins = s.authorizations[0];
    expect(nets(admins).map((n) => n.net)).toEqual(['0.0.0.0/0', '::/0']);
    expect(admins?.authentication?.permit).toEqual({ $case: 'meshTLS', value: { clients: { $case: 'identities', value: { identities: [{ name: id('admin', 'ops') }], suffixes: [] } } } });
    const legacy = s.authorizations[3];
    expect(legacy?.labels).toEqual({ group: POLICY, kind: 'serverauthorization', name: 'legacy' });
    expect(legacy?.authentication?.permit?.$case).toBe('unauthenticated');
    expect(nets(legacy).map((n) => n.net)).toContain('10.0.0.0/8');
  });

  it('drop an AuthorizationPolicy once its authentication is deleted', async () => {
    await remove('meshtlsauthentications', 'v1alpha1', 'web-clients');
    const s = await w.next('web-to-api gone', (x) => !authzNames(x).includes('web-to-api'));
    expect(authzNames(s)).toEqual(['admins', 'refs', 'legacy']);
  });
});

describe('routes of a Server', () => {
  it('replace the default route, each with the policies that target it', async () => {
    await create('httproutes', 'v1beta3', 'HTTPRoute', 'api-read', {
      parentRefs: [{ group: POLICY, kind: 'Server', name: 'api-http' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/read' }, method: 'GET' }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-read', value: '1' }] } }] }],
    });
    await create('authorizationpolicies', 'v1alpha1', 'AuthorizationPolicy', 'readers', {
      targetRef: { group: POLICY, kind: 'HTTPRoute', name: 'api-read' },
      requiredAuthenticationRefs: [{ group: POLICY, kind: 'NetworkAuthentication', name: 'office' }],
    });
    const s = await w.next('route with its authorization', (x) => http1Routes(x)[0]?.authorizations.length === 1);
    const [route, ...rest] = http1Routes(s);
    expect(rest).toEqual([]);
    expect(route?.metadata).toEqual({ kind: { $case: 'resource', value: { group: POLICY, kind: 'HTTPRoute', name: 'api-read', namespace: '', section: '', port: 0 } } });
    expect(route?.rules).toEqual([
      {
        matches: [{ path: { kind: { $case: 'prefix', value: '/read' } }, headers: [], queryParams: [], method: { type: { $case: 'registered', value: 0 } } }],
        filters: [{ kind: { $case: 'requestHeaderModifier', value: { add: { headers: [{ name: 'x-read', value: Buffer.from('1') }] }, set: undefined, remove: [] } } }],
      },
    ]);
    expect(route?.authorizations.map(nameOf)).toEqual(['readers']);
    expect(route?.authorizations[0]?.authentication?.permit?.$case).toBe('unauthenticated');
    // The route-targeted policy is not a Server authorization.
    expect(authzNames(s)).toEqual(['admins', 'refs', 'legacy']);

    await remove('httproutes', 'v1beta3', 'api-read');
    const back = await w.next('default route again', (x) => http1Routes(x).map(nameOf).join() === 'default:default');
    expect(authzNames(back)).toEqual(['admins', 'refs', 'legacy']);
  });
});
