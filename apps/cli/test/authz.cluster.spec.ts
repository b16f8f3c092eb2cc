// `trellis authz` against a real API server: a Deployment's pods (Pending here, no node: their labels are what
// counts), the Servers selecting them, and the authorizations that reach those Servers.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const ns = `trellis-authz-${randomBytes(3).toString('hex')}`;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

const OBJECTS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: trellis/demo-web:0.1.0, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ${ns}, labels: {team: web}}
spec: {podSelector: {matchLabels: {app: web}}, port: http, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: front-admin, namespace: ${ns}}
spec: {podSelector: {matchExpressions: [{key: tier, operator: In, values: [front, edge]}]}, port: 9990}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: db, namespace: ${ns}}
spec: {podSelector: {matchLabels: {app: db}}, port: 5432}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: bots, namespace: ${ns}}
spec: {identityRefs: [{kind: ServiceAccount, name: default}]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: web-api, namespace: ${ns}}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: web-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-from-bots, namespace: ${ns}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: bots}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-from-bots, namespace: ${ns}}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: web-api}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: bots}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: db-from-bots, namespace: ${ns}}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: db}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: bots}]
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: admin-anyone, namespace: ${ns}}
spec:
  server: {selector: {matchLabels: {team: web}}}
  client: {unauthenticated: true}
`;

beforeAll(async () => {
  const crds = await trellis('install', '--crds');
  expect(crds.err).toBe('');
  expect((await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-authz-test', '-f', '-'], crds.out)).stderr).toBe('');
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  expect((await kubectl(['apply', '-f', '-'], OBJECTS)).stderr).toBe('');
  const deadline = Date.now() + 30_000;
  while ((JSON.parse((await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])).stdout) as { items: unknown[] }).items.length === 0) {
    if (Date.now() > deadline) throw new Error(`no pod of deploy/web in ${ns} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 90_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis authz', () => {
  it("lists each Server selecting the workload's pods with the policies that reach it, by route", async () => {
    const r = await trellis('-n', ns, 'authz', 'deploy/web');
    expect(r.err).toBe('');
    expect(r.out).toBe(
      [
        'ROUTE    SERVER    AUTHORIZATION_POLICY  SERVER_AUTHORIZATION',
        '*        web-http                        admin-anyone',
        '*        web-http  web-from-bots',
        'web-api  web-http  api-from-bots',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await trellis('-n', ns, 'authz', 'deploy/web', '-o', 'json')).out) as { server: string }[];
    expect(json).toHaveLength(3);
  }, 30_000);

  it('says when nothing applies, and names a resource that does not exist', async () => {
    await kubectl(['-n', ns, 'delete', 'authorizationpolicy', 'web-from-bots', 'api-from-bots']);
    await kubectl(['-n', ns, 'delete', 'serverauthorization', 'admin-anyone']);
    expect(await trellis('-n', ns, 'authz', 'deploy/web')).toEqual({ code: 0, out: '', err: `No authorizations apply to deploy/web in namespace ${ns} (no Server selects its pods, or none is authorized).\n` });
    expect((await trellis('-n', ns, 'authz', 'deploy/nope')).err).toBe('trellis authz: deployments.apps "nope" not found (HTTP 404)\n');
  }, 30_000);
});
