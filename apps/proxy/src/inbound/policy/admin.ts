// The admin port under inbound policy (docs/reference/linkerd-proxy.md §6: "Access goes through inbound policy"): its policy is
// watched from the start like the pod's ports, and each admin request is routed and authorized as an inbound
// HTTP request to that port would be (a Server for `linkerd-admin` with its authorizations; kubelet probes need
// one, as in Linkerd). A meshed client (a meshed Prometheus) is judged by the identity its mTLS proved. Refused
// requests get 404 or 403 and are counted under the admin port; route filters do not apply to the proxy's own
// endpoints.
import type { IncomingMessage } from 'node:http';
import { adminClientId } from '../../admin/accept.ts';
import { h1Head, h2Head } from '../../http/request-head.ts';
import type { TlsAccept } from '../../tls/labels.ts';
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
    const clientId = adminClientId(s);
    const tls: TlsAccept = clientId !== undefined ? { kind: 'meshed', clientId } : { kind: 'plaintext', reason: 'no_tls_from_remote' };
    const entry = targets.get('inbound', local, p.port, false, tls, server.meta);
    // HTTP/2 reaches the same handler through node:http2's compatibility API (the request has a stream).
    const head = 'stream' in req ? h2Head(req.headers, s) : h1Head(req);
    const decision = decide(d, server, { ip: ipBytes(remote), tls }, remote, head, entry);
    if (decision.kind === 'notFound') return { status: 404 };
    if (decision.kind === 'deny') return { status: 403 };
    if (decision.kind === 'invalid') return { status: 500 };
    d.authz.httpAllow(entry, server, decision.rule, decision.rule.meta, decision.authz).allow.inc();
    return undefined;
  };
}
