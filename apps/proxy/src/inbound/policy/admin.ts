// The admin port under inbound policy (docs/reference/linkerd-proxy.md §6: "Access goes through inbound policy"): its policy is
// watched from the start like the pod's ports, and each admin request is routed and authorized as an inbound
// HTTP request to that port would be (a Server for `linkerd-admin` with its authorizations; kubelet probes need
// one, as in Linkerd). Refused requests get 404 or 403 and are counted under the admin port; route filters do
// not apply to the proxy's own endpoints.
import type { IncomingMessage } from 'node:http';
import { h1Head } from '../../http/request-head.ts';
import type { TargetCache } from '../../tcp/targets.ts';
import { ipBytes } from './authz.ts';
import { decide, type InboundHttpDeps } from './http.ts';
import type { PortPolicy } from './policies.ts';

export interface AdminRefusal {
  readonly status: number;
}

export function adminAuthorizer(d: InboundHttpDeps, targets: TargetCache, policy: () => PortPolicy | undefined): (req: IncomingMessage) => AdminRefusal | undefined {
  return (req) => {
    const p = policy();
    if (!p) return undefined;
    const server = p.current;
    const s = req.socket;
    const remote = s.remoteAddress ?? '';
    const local = (s.localAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    const entry = targets.get('inbound', local, p.port, false, { kind: 'plaintext', reason: 'no_tls_from_remote' }, server.meta);
    const decision = decide(d, server, { ip: ipBytes(remote), tls: { kind: 'plaintext', reason: 'no_tls_from_remote' } }, remote, h1Head(req), entry);
    if (decision.kind === 'notFound') return { status: 404 };
    if (decision.kind === 'deny') return { status: 403 };
    if (decision.kind === 'invalid') return { status: 500 };
    d.authz.httpAllow(entry, server, decision.rule, decision.rule.meta, decision.authz).allow.inc();
    return undefined;
  };
}
