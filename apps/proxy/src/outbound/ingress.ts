// Ingress mode (LINKERD2_PROXY_INGRESS_MODE, what `linkerd.io/inject: ingress` renders): an ingress controller
// sends every request to whatever address it was configured with, so the original destination says little. Each
// HTTP request is routed by name instead: its `l5d-dst-override` header (removed before the request goes on), else
// its Host or :authority. The name is resolved through discovery (GetProfile and Destination/Get by name) once and
// shared by every request to it; a name discovery does not know goes to the original destination, as does a
// request without a name (docs/reference/linkerd-proxy.md §4 "Headers").
import { isIP } from 'node:net';
import { asProxyError } from '../errors.ts';
import type { ConnRouter, Exchange } from '../http/exchange.ts';
import type { Mesh } from '../identity/mesh.ts';
import type { RouteMetricFamilies } from '../profiles/metrics.ts';
import { EndpointClient } from './endpoint-client.ts';
import type { MeshH1Options } from './mesh-h1.ts';
import { MeshUpstream } from './mesh-upstream.ts';

export const L5D_DST_OVERRIDE = 'l5d-dst-override';

/** "name:port" of a request routed in ingress mode, or undefined (no usable name: the original destination). */
export function ingressAuthority(override: string | undefined, host: string | undefined): string | undefined {
  const raw = (override ?? host)?.trim().toLowerCase();
  if (!raw) return undefined;
  const m = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)\.?(?::(\d{1,5}))?$/.exec(raw);
  // An IP literal (or anything that is not a DNS name) has no name to resolve.
  if (!m || isIP(m[1] as string) !== 0) return undefined;
  const port = m[5] === undefined ? 80 : Number(m[5]);
  if (port < 1 || port > 65_535) return undefined;
  return `${m[1]}:${port}`;
}

interface Slot {
  readonly upstream: Promise<MeshUpstream | undefined>;
  inFlight: number;
  idleSince: number;
}

/** A request's use of an upstream: `done()` once the request ended, so an idle upstream can be released. */
export interface IngressLease {
  readonly upstream: MeshUpstream;
  done(): void;
}

export class IngressRouter implements ConnRouter {
  readonly #slots = new Map<string, Slot>();
  readonly #resolve: (authority: string) => Promise<MeshUpstream | undefined>;
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;

  constructor(mesh: Mesh, isLocal: (ip: string) => boolean, connectTimeoutMs: number, routeMetrics: RouteMetricFamilies | undefined, meshHttp1?: MeshH1Options) {
    this.#resolve = async (authority) => {
      const i = authority.lastIndexOf(':');
      const r = await mesh.outbound.resolve(authority.slice(0, i), Number(authority.slice(i + 1)));
      return r.kind === 'forward' ? undefined : new MeshUpstream(r, new EndpointClient(mesh.tls, isLocal, mesh.endpointMetrics, connectTimeoutMs, meshHttp1), routeMetrics);
    };
    this.#idleMs = Math.max(mesh.outboundIdleMs, 1);
    this.#sweep = setInterval(() => this.sweep(Date.now()), Math.min(Math.max(this.#idleMs / 2, 50), 5_000));
    this.#sweep.unref();
  }

  /** Routes a request by its l5d-dst-override (removed) or Host/:authority; without a known name, as without ingress. */
  route(ex: Exchange): void {
    const head = ex.requestHead();
    const o = head.headers[L5D_DST_OVERRIDE];
    if (o !== undefined) head.removeHeader(L5D_DST_OVERRIDE);
    const h = head.headers;
    const authority = ingressAuthority(Array.isArray(o) ? o[0] : o, (h[':authority'] as string | undefined) ?? (h.host as string | undefined));
    // Not meshed after all: counted in the original destination's series, as without ingress mode.
    const plain = () => {
      ex.countRequest();
      ex.forward();
    };
    if (authority === undefined) return plain();
    this.lease(authority).then(
      (l) => {
        if (!l) return plain();
        ex.onFinish(l.done);
        l.upstream.route(ex);
      },
      (err: unknown) => ex.fail(asProxyError(err, authority)),
    );
  }

  /** The upstream of `authority` ("name:port"), resolved once; undefined when discovery does not know the name. */
  async lease(authority: string): Promise<IngressLease | undefined> {
    let slot = this.#slots.get(authority);
    if (!slot) {
      const s: Slot = { upstream: this.#resolve(authority), inFlight: 0, idleSince: Date.now() };
      this.#slots.set(authority, s);
      // Unknown names are asked again next time: a service may appear later.
      s.upstream.then(
        (u) => u ?? this.#forget(authority, s),
        () => this.#forget(authority, s),
      );
      slot = s;
    }
    const s = slot;
    s.inFlight++;
    const release = () => {
      s.inFlight--;
      s.idleSince = Date.now();
    };
    try {
      const upstream = await s.upstream;
      if (upstream) return { upstream, done: once(release) };
    } catch (err) {
      release();
      throw err;
    }
    release();
    return undefined;
  }

  #forget(authority: string, s: Slot): void {
    if (this.#slots.get(authority) === s) this.#slots.delete(authority);
  }

  /** Releases upstreams no request has used for the discovery idle timeout (their connections and watches). */
  sweep(now: number): void {
    for (const [authority, s] of this.#slots) {
      if (s.inFlight > 0 || now - s.idleSince < this.#idleMs) continue;
      this.#slots.delete(authority);
      void s.upstream.then((u) => u?.release());
    }
  }

  close(): void {
    clearInterval(this.#sweep);
    this.sweep(Number.POSITIVE_INFINITY);
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
