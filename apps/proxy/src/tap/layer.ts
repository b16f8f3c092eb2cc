// The tap's hook on the HTTP path: one layer for both directions and both HTTP versions. While no tap is open it
// costs one boolean check per request. With a tap open, each request gets a watcher that matches it (a meshed
// outbound request once its endpoint is picked, so destination matches see the endpoint, as Linkerd's endpoint
// stack does) and streams its request init, response init and response end to the taps that took it.
import { performance } from 'node:perf_hooks';
import type { Exchange, ExchangeWatcher, HttpLayer, PickedEndpoint, RequestHead } from '../http/exchange.ts';
import { eventBaseOf, type TapEos, type TapEventBase } from './events.ts';
import type { TapSubject } from './match.ts';
import type { TapHit, TapRegistry } from './registry.ts';

export type TapDirection = 'inbound' | 'outbound';

/** The layer; place it first after `rescue`, so requests refused by load shedding or policy are seen too. */
export function tapLayer(registry: TapRegistry, direction: TapDirection): HttpLayer {
  return (next) => (ex) => {
    if (registry.active) watchExchange(registry, direction, ex);
    next(ex);
  };
}

const RESET_CODES: Record<string, number> = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11,
  INADEQUATE_SECURITY: 12,
  HTTP_1_1_REQUIRED: 13,
};

const PLAIN_END: TapEos = {};

/** How the exchange's response ended: grpc-status for gRPC, the reset code when the stream was reset. */
export function eosOf(ex: Pick<Exchange, 'grpc' | 'grpcStatus' | 'errorLabel'>): TapEos {
  if (ex.errorLabel === '') return ex.grpc && ex.grpcStatus >= 0 ? { grpcStatus: ex.grpcStatus } : PLAIN_END;
  const reset = /^h2\(([A-Z_0-9]+)\)$/.exec(ex.errorLabel)?.[1];
  if (reset !== undefined) return { resetCode: RESET_CODES[reset] ?? 2 };
  if (ex.grpc && ex.grpcStatus >= 0) return { grpcStatus: ex.grpcStatus };
  return {};
}

function bareIp(a: string | undefined): string {
  if (a === undefined || a === '') return '0.0.0.0';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

// Shared, so requests on one connection keep matching its cached event base (events.ts compares by reference).
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The request's facts a match reads. */
export function subjectOf(ex: Exchange, head: RequestHead = ex.requestHead()): TapSubject {
  const conn = head.connection as { remoteAddress?: string; remotePort?: number } | undefined;
  const authorityHeader = ex.header(':authority') ?? ex.header('host');
  const schemeHeader = ex.header(':scheme');
  let path = head.target;
  let authority = String(authorityHeader ?? '');
  let scheme = typeof schemeHeader === 'string' ? schemeHeader : 'http';
  if (!path.startsWith('/')) {
    // Absolute form (a request through an HTTP proxy): the URL carries scheme and authority.
    try {
      const u = new URL(path);
      path = u.pathname;
      authority = u.host;
      scheme = u.protocol.replace(/:$/, '');
    } catch {
      // Not a URL (`*` for OPTIONS, an authority for CONNECT): matched as written.
    }
  }
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  return {
    sourceIp: bareIp(conn?.remoteAddress),
    sourcePort: conn?.remotePort ?? 0,
    destinationIp: ex.entry.target.ip,
    destinationPort: ex.entry.target.port,
    destinationLabels: NO_LABELS,
    routeLabels: NO_LABELS,
    scheme,
    method: head.method,
    authority,
    path,
  };
}

class Watch implements ExchangeWatcher {
  readonly #registry: TapRegistry;
  readonly #direction: TapDirection;
  readonly #head: RequestHead;
  #subject: TapSubject;
  #decided = false;
  #hits: TapHit[] | undefined;
  #base: TapEventBase | undefined;
  #serverId: string | undefined;
  #respondedAt = 0;
  #bytes = 0;

  constructor(registry: TapRegistry, direction: TapDirection, head: RequestHead, subject: TapSubject) {
    this.#registry = registry;
    this.#direction = direction;
    this.#head = head;
    this.#subject = subject;
  }

  /** Matches the request against the open taps, once; the taps that take it get its request init. */
  decide(ex: Exchange): void {
    if (this.#decided) return;
    this.#decided = true;
    const hits = this.#registry.match(this.#subject);
    if (hits === undefined) {
      ex.watcher = undefined;
      return;
    }
    this.#hits = hits;
    const s = this.#subject;
    const head = this.#head;
    const base = eventBaseOf(head.connection, s, {
      direction: this.#direction,
      clientId: ex.entry.clientId,
      serverId: this.#serverId,
      destinationLabels: s.destinationLabels,
    });
    this.#base = base;
    // The header object is built only for a tap that extracts headers.
    for (const { tap, stream } of hits) tap.requestInit(base, stream, s, tap.extractHeaders ? head.headers : undefined);
  }

  endpointPicked(ex: Exchange, e: PickedEndpoint): void {
    if (this.#decided) return;
    this.#subject = { ...this.#subject, destinationIp: e.ip, destinationPort: e.port, destinationLabels: e.labels };
    this.#serverId = e.identity;
    this.decide(ex);
  }

  responseStarted(ex: Exchange): void {
    this.decide(ex);
    if (this.#hits === undefined || this.#respondedAt !== 0) return;
    this.#respondedAt = performance.now();
    const since = this.#respondedAt - ex.startedAt;
    for (const { tap, stream } of this.#hits) tap.responseInit(this.#base as TapEventBase, stream, since, ex.status);
  }

  bodyBytes(n: number): void {
    this.#bytes += n;
  }

  finished(ex: Exchange): void {
    this.decide(ex);
    const hits = this.#hits;
    if (hits === undefined) return;
    if (this.#respondedAt === 0 && ex.status > 0) this.responseStarted(ex);
    const now = performance.now();
    const t = { sinceRequestMs: now - ex.startedAt, sinceResponseMs: this.#respondedAt === 0 ? 0 : now - this.#respondedAt, bytes: this.#bytes };
    const eos = eosOf(ex);
    for (const { tap, stream } of hits) {
      tap.responseEnd(this.#base as TapEventBase, stream, t, eos);
      tap.requestEnded();
    }
  }
}

function watchExchange(registry: TapRegistry, direction: TapDirection, ex: Exchange): void {
  const head = ex.requestHead();
  const w = new Watch(registry, direction, head, subjectOf(ex, head));
  ex.watch(w);
  ex.onFinish(() => w.finished(ex));
  // A meshed outbound request is matched once its endpoint is picked (or when it ends without one).
  if (!(direction === 'outbound' && ex.meshed)) w.decide(ex);
}
