// A stub destination service for the proxy's tests (apps/destination is built elsewhere): a grpc-js server for
// Destination/Get and GetProfile whose answers the test scripts per path, over mTLS with a certificate for the
// destination identity. Unknown paths get NotFound, as the real service answers for unknown Services.
import { Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { DestinationService, destination, type DestinationServer } from '@trellis/proto';
import type { MeshPki } from './mesh-pki.ts';

export const DESTINATION_SVC_NAME = 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local';

type Call<T> = ServerWritableStream<destination.GetDestination, T>;

export interface StubDestination {
  readonly addr: string;
  /** Every request seen: method, path and context token. */
  readonly requests: { method: 'get' | 'getProfile'; path: string; token: string }[];
  /** Number of calls cancelled by the client (idle eviction, lifetime renewal). */
  cancelled: number;
  /** Paths Get knows, with the updates sent first to every new call. */
  readonly services: Map<string, destination.Update[]>;
  /** Paths GetProfile knows, with the profile sent first. */
  readonly profiles: Map<string, destination.DestinationProfile>;
  /** Paths whose new calls get no message at all (for initial-timeout tests). */
  readonly silent: Set<string>;
  push(path: string, u: destination.Update): void;
  /** Sends a new profile to every open GetProfile call for `path` (and to later ones). */
  pushProfile(path: string, p: destination.DestinationProfile): void;
  fail(path: string, code: number): void;
  open(path: string): number;
  close(): Promise<void>;
  /** Stops at once, resetting every open call (a controller that crashed). */
  kill(): void;
}

export async function startStubDestination(pki: MeshPki, opts: { tls?: boolean; host?: string; port?: number } = {}): Promise<StubDestination> {
  const calls = new Map<string, Set<Call<destination.Update>>>();
  const profileCalls = new Map<string, Set<Call<destination.DestinationProfile>>>();
  const stub: StubDestination = {
    addr: '',
    requests: [],
    cancelled: 0,
    services: new Map(),
    profiles: new Map(),
    silent: new Set(),
    push(path, u) {
      for (const c of calls.get(path) ?? []) c.write(u);
    },
    pushProfile(path, p) {
      stub.profiles.set(path, p);
      for (const c of profileCalls.get(path) ?? []) c.write(p);
    },
    fail(path, code) {
      for (const c of calls.get(path) ?? []) c.emit('error', { code, details: 'stub failure' });
      calls.get(path)?.clear();
    },
    open: (path) => calls.get(path)?.size ?? 0,
    close: async () => undefined,
    kill: () => undefined,
  };
  const track = (call: Call<destination.Update>) => {
    const path = call.request.path;
    let set = calls.get(path);
    if (!set) calls.set(path, (set = new Set()));
    set.add(call);
    call.on('cancelled', () => {
      stub.cancelled++;
      set.delete(call);
    });
  };
  const impl: DestinationServer = {
    get(call) {
      const { path, contextToken } = call.request;
      stub.requests.push({ method: 'get', path, token: contextToken });
      const first = stub.services.get(path);
      if (!first) return void call.emit('error', { code: status.NOT_FOUND, details: `Service ${path} not found` });
      track(call);
      if (!stub.silent.has(path)) for (const u of first) call.write(u);
    },
    getProfile(call) {
      const { path, contextToken } = call.request;
      stub.requests.push({ method: 'getProfile', path, token: contextToken });
      const p = stub.profiles.get(path);
      if (!p) return void call.emit('error', { code: status.NOT_FOUND, details: 'not found' });
      let set = profileCalls.get(path);
      if (!set) profileCalls.set(path, (set = new Set()));
      set.add(call);
      call.on('cancelled', () => {
        stub.cancelled++;
        set.delete(call);
      });
      call.write(p);
    },
  };
  const server = new Server();
  server.addService(DestinationService, impl);
  let creds = ServerCredentials.createInsecure();
  if (opts.tls !== false) {
    const own = await pki.issue(DESTINATION_SVC_NAME);
    // Client certificates are required and checked against the anchors, as destination's own proxy would.
    creds = ServerCredentials.createSsl(Buffer.from(pki.trustAnchorsPem), [{ private_key: Buffer.from(own.tls.key), cert_chain: Buffer.from(own.tls.cert) }], true);
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, creds, (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(stub, { addr: `${opts.host ?? '127.0.0.1'}:${port}`, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())), kill: () => server.forceShutdown() });
}
