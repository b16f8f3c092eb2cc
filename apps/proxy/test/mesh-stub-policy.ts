// A stub policy controller for the proxy's tests: a grpc-js OutboundPolicies server (plaintext, as the proxy
// speaks to loopback control-plane addresses) whose Watch answers per target "ip:port" are scripted by the test:
// a policy (and later updates pushed to open watches), or a gRPC status (NOT_FOUND, UNIMPLEMENTED, ...).
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { ipAddressToString, OutboundPoliciesService, type outbound, type OutboundPoliciesServer } from '@trellis/proto';

type Call = ServerWritableStream<outbound.TrafficSpec, outbound.OutboundPolicy>;

export interface StubPolicy {
  readonly addr: string;
  /** Targets the proxy watched, with the workload it named. */
  readonly watched: { target: string; workload: string }[];
  /** The answer to new watches of a target: a policy, or a gRPC status code. */
  readonly answers: Map<string, outbound.OutboundPolicy | number>;
  /** Targets whose watches get no answer (the controller is slow) until a policy is pushed for them. */
  readonly held: Set<string>;
  /** Sends a new policy to every open watch of `target` (and to later ones). */
  push(target: string, p: outbound.OutboundPolicy): void;
  close(): Promise<void>;
}

function keyOf(spec: outbound.TrafficSpec): string {
  const t = spec.target;
  if (t?.$case === 'authority') return t.value;
  if (t?.$case === 'addr' && t.value.ip) {
    const ip = ipAddressToString(t.value.ip);
    return ip.includes(':') ? `[${ip}]:${t.value.port}` : `${ip}:${t.value.port}`;
  }
  return '';
}

export async function startStubPolicy(): Promise<StubPolicy> {
  const calls = new Map<string, Set<Call>>();
  const stub: StubPolicy = {
    addr: '',
    watched: [],
    answers: new Map(),
    held: new Set(),
    push(target, p) {
      stub.held.delete(target);
      stub.answers.set(target, p);
      for (const c of calls.get(target) ?? []) c.write(p);
    },
    close: async () => undefined,
  };
  const impl: OutboundPoliciesServer = {
    get(call, cb) {
      const a = stub.answers.get(keyOf(call.request));
      if (a === undefined || typeof a === 'number') return cb({ code: a ?? 5, details: 'no policy' });
      cb(null, a);
    },
    watch(call) {
      const target = keyOf(call.request);
      stub.watched.push({ target, workload: call.request.sourceWorkload });
      const a = stub.answers.get(target);
      const held = stub.held.has(target);
      if (!held && (a === undefined || typeof a === 'number')) return void call.emit('error', { code: a ?? 5, details: `no policy for ${target}` });
      let set = calls.get(target);
      if (!set) calls.set(target, (set = new Set()));
      set.add(call);
      call.on('cancelled', () => set.delete(call));
      if (!held && a !== undefined && typeof a !== 'number') call.write(a);
    },
  };
  const server = new Server();
  server.addService(OutboundPoliciesService, impl);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(stub, {
    addr: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const set of calls.values()) for (const c of set) c.end();
        server.tryShutdown(() => resolve());
      }),
  });
}
