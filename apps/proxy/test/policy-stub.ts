// A stub policy controller for the proxy's inbound tests (apps/destination serves the real one): a grpc-js
// InboundServerPolicies server on loopback (the proxy speaks plaintext to loopback control-plane addresses)
// whose WatchPort answers the test scripts per port, plus Servers shaped as the controller sends them
// (docs/reference/linkerd-contracts.md §4: labels group/kind/name, Authz metadata and labels, detect timeout 10 s).
import { Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { durationFromMillis, inbound, InboundServerPoliciesService, ipNetworkFromString, type InboundServerPoliciesServer } from '@trellis/proto';
import type { MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME } from './mesh-stub-destination.ts';

type Call = ServerWritableStream<inbound.PortSpec, inbound.Server>;

export interface PolicyStub {
  readonly addr: string;
  /** Every PortSpec asked for. */
  readonly requests: inbound.PortSpec[];
  /** Ports the stub knows, with the Server sent first to every new watch. */
  readonly servers: Map<number, inbound.Server>;
  /** When set, every WatchPort call fails with this status code. */
  failWith: number | undefined;
  /** Sends a Server to every open watch of `port` (and to later ones). */
  push(port: number, s: inbound.Server): void;
  /** Open watches of a port. */
  open(port: number): number;
  close(): Promise<void>;
}

/** `pki`: serve mTLS as the destination identity (the policy controller's), for proxies off loopback. */
export async function startPolicyStub(o: { pki?: Pick<MeshPki, 'issue' | 'trustAnchorsPem'>; host?: string; port?: number } = {}): Promise<PolicyStub> {
  const calls = new Map<number, Set<Call>>();
  const stub: PolicyStub = {
    addr: '',
    requests: [],
    servers: new Map(),
    failWith: undefined,
    push(port, s) {
      stub.servers.set(port, s);
      for (const c of calls.get(port) ?? []) c.write(s);
    },
    open: (port) => calls.get(port)?.size ?? 0,
    close: async () => undefined,
  };
  const impl: InboundServerPoliciesServer = {
    getPort(call, cb) {
      const s = stub.servers.get(call.request.port);
      if (!s) return cb({ code: status.NOT_FOUND, details: 'no such port' });
      cb(null, s);
    },
    watchPort(call) {
      stub.requests.push(call.request);
      if (stub.failWith !== undefined) return void call.emit('error', { code: stub.failWith, details: 'stub failure' });
      const port = call.request.port;
      let set = calls.get(port);
      if (!set) calls.set(port, (set = new Set()));
      set.add(call);
      call.on('cancelled', () => set.delete(call));
      const s = stub.servers.get(port);
      if (s) call.write(s);
    },
  };
  const server = new Server();
  server.addService(InboundServerPoliciesService, impl);
  let creds = ServerCredentials.createInsecure();
  if (o.pki) {
    const own = await o.pki.issue(DESTINATION_SVC_NAME);
    creds = ServerCredentials.createSsl(Buffer.from(o.pki.trustAnchorsPem), [{ private_key: Buffer.from(own.tls.key), cert_chain: Buffer.from(own.tls.cert) }], true);
  }
  const host = o.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${o.port ?? 0}`, creds, (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(stub, {
    addr: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const set of calls.values()) for (const c of set) c.end();
        server.tryShutdown(() => resolve());
      }),
  });
}

const ALL = ['0.0.0.0/0', '::/0'];

/** An AuthorizationPolicy-backed Authz, as the controller sends one. */
export function authz(name: string, o: { networks?: readonly (string | { net: string; except: readonly string[] })[]; identities?: readonly string[]; suffixes?: readonly (readonly string[])[]; meshTls?: boolean } = {}): inbound.Authz {
  const networks = (o.networks ?? ALL).map((n) =>
    typeof n === 'string' ? { net: ipNetworkFromString(n), except: [] } : { net: ipNetworkFromString(n.net), except: n.except.map(ipNetworkFromString) },
  );
  const meshed = o.meshTls === true || o.identities !== undefined || o.suffixes !== undefined;
  const authentication: inbound.Authn = meshed
    ? {
        permit: {
          $case: 'meshTLS',
          value: {
            clients:
              o.identities === undefined && o.suffixes === undefined
                ? { $case: 'unauthenticated', value: {} }
                : { $case: 'identities', value: { identities: (o.identities ?? []).map((n) => ({ name: n })), suffixes: (o.suffixes ?? []).map((p) => ({ parts: [...p] })) } },
          },
        },
      }
    : { permit: { $case: 'unauthenticated', value: {} } };
  return {
    networks,
    authentication,
    labels: { group: 'policy.linkerd.io', kind: 'authorizationpolicy', name },
    metadata: { kind: { $case: 'resource', value: { group: 'policy.linkerd.io', kind: 'authorizationpolicy', name, namespace: 'default', section: '', port: 0 } } },
  };
}

export function httpRoute(name: string, rules: inbound.HttpRoute_Rule[], authorizations: inbound.Authz[] = []): inbound.HttpRoute {
  return {
    metadata: { kind: { $case: 'resource', value: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name, namespace: 'default', section: '', port: 0 } } },
    hosts: [],
    authorizations,
    rules,
  };
}

export function pathRule(kind: 'exact' | 'prefix', path: string, filters: inbound.HttpRoute_Filter[] = []): inbound.HttpRoute_Rule {
  return { matches: [{ path: { kind: { $case: kind, value: path } as never }, headers: [], queryParams: [], method: undefined }], filters };
}

/** A Server resource selecting the port. */
export function server(name: string, protocol: inbound.ProxyProtocol['kind'], authorizations: inbound.Authz[]): inbound.Server {
  return { protocol: { kind: protocol }, serverIps: [], authorizations, labels: { group: 'policy.linkerd.io', kind: 'server', name } };
}

export function detect(routes: inbound.HttpRoute[] = []): inbound.ProxyProtocol['kind'] {
  return { $case: 'detect', value: { timeout: durationFromMillis(10_000), httpRoutes: routes, httpLocalRateLimit: undefined } };
}

export const opaque: inbound.ProxyProtocol['kind'] = { $case: 'opaque', value: {} };
