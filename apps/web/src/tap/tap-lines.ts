// Tap events as the dashboard's live view shows them: each event as Linkerd's tap line (req / rsp / end), and each
// finished request (its init paired with its end by stream id and the proxy's addresses) with what top aggregates:
// source, destination, method, path, latency from request start to response end, and whether it succeeded (HTTP
// status below 500, gRPC status OK, no reset).
import { durationToMillis, ipAddressToString, tap, type httpTypes, type net } from '@trellis/proto';
import type { TapLine } from '../api-types.ts';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'HEAD', 'TRACE'];
const GRPC_CODES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted',
  'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];
/** Requests whose end never came are forgotten past this many, so a long tap holds bounded memory. */
const MAX_PENDING = 10_000;

function methodText(m: httpTypes.HttpMethod | undefined): string {
  const t = m?.type;
  if (t === undefined) return '';
  return t.$case === 'unregistered' ? t.value : (METHODS[t.value] ?? String(t.value));
}

function addrText(a: net.TcpAddress | undefined): string {
  if (!a?.ip) return '';
  const ip = ipAddressToString(a.ip);
  return ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`;
}

/** A side of a request: its pod when the tap API named it, else its address. */
function peer(meta: tap.TapEvent_EndpointMeta | undefined, a: net.TcpAddress | undefined): string {
  return meta?.labels['pod'] || (a?.ip ? ipAddressToString(a.ip) : '-');
}

const micros = (d: { seconds: bigint; nanos: number } | undefined) => (d === undefined ? 0 : Math.trunc(durationToMillis(d) * 1000));

interface Pending {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  status: number;
}

/** One tap's events in order; keeps the requests in flight to pair them. */
export class TapLines {
  readonly #pending = new Map<string, Pending>();

  line(e: tap.TapEvent): TapLine | undefined {
    const ev = e.event?.value.event;
    if (ev === undefined) return undefined;
    const inbound = e.proxyDirection === tap.TapEvent_ProxyDirection.INBOUND;
    const outbound = e.proxyDirection === tap.TapEvent_ProxyDirection.OUTBOUND;
    const tls = (inbound ? e.sourceMeta?.labels['tls'] : outbound ? e.destinationMeta?.labels['tls'] : '') ?? '';
    const flow = `proxy=${inbound ? 'in ' : outbound ? 'out' : '???'} src=${addrText(e.source)} dst=${addrText(e.destination)} tls=${tls}`;
    const id = ev.value.id;
    const idText = `id=${id?.base ?? 0}:${id?.stream ?? 0n}`;
    const key = `${e.proxyDirection}|${addrText(e.source)}|${addrText(e.destination)}|${idText}`;
    switch (ev.$case) {
      case 'requestInit': {
        const r = ev.value;
        if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value as string);
        this.#pending.set(key, { source: peer(e.sourceMeta, e.source), destination: peer(e.destinationMeta, e.destination), method: methodText(r.method), path: r.path, status: 0 });
        return { kind: 'req', text: `req ${idText} ${flow} :method=${methodText(r.method)} :authority=${r.authority} :path=${r.path}` };
      }
      case 'responseInit': {
        const p = this.#pending.get(key);
        if (p) p.status = ev.value.httpStatus;
        return { kind: 'rsp', text: `rsp ${idText} ${flow} :status=${ev.value.httpStatus} latency=${micros(ev.value.sinceRequestInit)}µs` };
      }
      case 'responseEnd': {
        const r = ev.value;
        const end = r.eos?.end;
        const eos = end?.$case === 'grpcStatusCode' ? ` grpc-status=${GRPC_CODES[end.value] ?? `Code(${end.value})`}` : end?.$case === 'resetErrorCode' ? ` reset-error=${end.value}` : '';
        const text = `end ${idText} ${flow}${eos} duration=${micros(r.sinceResponseInit)}µs response-length=${r.responseBytes}B`;
        const p = this.#pending.get(key);
        if (!p) return { kind: 'end', text };
        this.#pending.delete(key);
        const ok = p.status > 0 && p.status < 500 && !(end?.$case === 'grpcStatusCode' && end.value !== 0) && end?.$case !== 'resetErrorCode';
        const latencyMs = r.sinceRequestInit ? durationToMillis(r.sinceRequestInit) : 0;
        return { kind: 'end', text, done: { source: p.source, destination: p.destination, method: p.method, path: p.path, latencyMs, ok } };
      }
    }
  }
}
