// What `trellis authz` lists for a workload: the Servers that select its pods, and for each the
// AuthorizationPolicies that target it (directly, through an HTTPRoute parented to it, or through the namespace)
// and the ServerAuthorizations that select it, one row per (route, server, authorization).
import type { V1LabelSelector } from '@kubernetes/client-node';

export interface PolicyObject {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
}

export interface AuthzRow {
  /** `*` for the whole Server; else the HTTPRoute an AuthorizationPolicy targets. */
  readonly route: string;
  readonly server: string;
  readonly authorizationPolicy: string;
  readonly serverAuthorization: string;
}

export function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key] as string);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key] as string);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
  return byLabel && byExpr;
}

interface TargetRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
}

const isPolicyGroup = (g: string | undefined) => g === undefined || g === '' || g === 'policy.linkerd.io';

export function authorizationRows(
  podLabels: readonly Record<string, string>[],
  servers: readonly PolicyObject[],
  routes: readonly PolicyObject[],
  policies: readonly PolicyObject[],
  serverAuthorizations: readonly PolicyObject[],
): AuthzRow[] {
  const mine = servers.filter((s) => podLabels.some((l) => selects(s.spec?.['podSelector'] as V1LabelSelector | undefined, l)));
  const rows: AuthzRow[] = [];
  for (const server of mine) {
    const name = server.metadata.name;
    for (const p of policies) {
      const t = (p.spec?.['targetRef'] ?? {}) as TargetRef;
      if (t.kind === 'Namespace' || (t.kind === 'Server' && isPolicyGroup(t.group) && t.name === name)) {
        rows.push({ route: '*', server: name, authorizationPolicy: p.metadata.name, serverAuthorization: '' });
      } else if (t.kind === 'HTTPRoute' || t.kind === 'GRPCRoute') {
        const route = routes.find((r) => r.metadata.name === t.name);
        const parents = (route?.spec?.['parentRefs'] ?? []) as TargetRef[];
        if (parents.some((pr) => pr.kind === 'Server' && pr.name === name)) rows.push({ route: t.name ?? '', server: name, authorizationPolicy: p.metadata.name, serverAuthorization: '' });
      }
    }
    for (const saz of serverAuthorizations) {
      const target = (saz.spec?.['server'] ?? {}) as { name?: string; selector?: V1LabelSelector };
      if (target.name === name || (target.selector && selects(target.selector, server.metadata.labels ?? {}))) {
        rows.push({ route: '*', server: name, authorizationPolicy: '', serverAuthorization: saz.metadata.name });
      }
    }
  }
  return rows.sort((a, b) => a.server.localeCompare(b.server) || a.route.localeCompare(b.route) || (a.authorizationPolicy + a.serverAuthorization).localeCompare(b.authorizationPolicy + b.serverAuthorization));
}

export function renderAuthzTable(rows: readonly AuthzRow[]): string {
  const head = ['ROUTE', 'SERVER', 'AUTHORIZATION_POLICY', 'SERVER_AUTHORIZATION'];
  const cells = rows.map((r) => [r.route, r.server, r.authorizationPolicy, r.serverAuthorization]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}
