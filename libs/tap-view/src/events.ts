// Linkerd's `tap` line format, one line per event,
//   req id=3:0 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :method=GET :authority=web-svc:80 :path=/api/list
//   rsp id=3:0 proxy=in  src=... dst=... tls=true :status=200 latency=1092µs
//   end id=3:0 proxy=in  src=... dst=... tls=true duration=53µs response-length=4560B
// and each finished request (its init paired with its end by stream id and the proxy's addresses) as top counts it.
// `tls` comes from the source's metadata for inbound events and the destination's for outbound ones; the wide form
// adds each side's resource and namespace (src_res=deploy/web src_ns=emojivoto ...).
import { durationToMillis, ipAddressToString, tap, type httpTypes, type net } from '@trellis/proto';
import type { TapLine } from './index.ts';

const GRPC_CODES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted',
  'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'HEAD', 'TRACE'];
/** Requests whose end never came are forgotten past this many, so a long tap holds bounded memory. */
const MAX_PENDING = 10_000;

/** The label that names a resource of each type in the events' metadata, and its short name. */
const RESOURCE_LABELS: Readonly<Record<string, readonly [string, string]>> = {
  deployment: ['deployment', 'deploy'],
  statefulset: ['statefulset', 'sts'],
  daemonset: ['daemonset', 'ds'],
  pod: ['pod', 'po'],
  namespace: ['namespace', 'ns'],
};

export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? `Code(${code})`;
}

export function methodText(m: httpTypes.HttpMethod | undefined): string {
  const t = m?.type;
  if (t === undefined) return '';
  return t.$case === 'unregistered' ? t.value : (METHODS[t.value] ?? String(t.value));
}

export function addrText(a: net.TcpAddress | undefined): string {
  if (!a?.ip) return '';
  const ip = ipAddressToString(a.ip);
  return ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`;
}

const micros = (d: { seconds: bigint; nanos: number } | undefined) => (d === undefined ? 0 : Math.trunc(durationToMillis(d) * 1000));

function tlsOf(e: tap.TapEvent): string {
  if (e.proxyDirection === tap.TapEvent_ProxyDirection.INBOUND) return e.sourceMeta?.labels['tls'] ?? '';
  if (e.proxyDirection === tap.TapEvent_ProxyDirection.OUTBOUND) return e.destinationMeta?.labels['tls'] ?? '';
  return '';
}

function resourceOf(labels: Readonly<Record<string, string>> | undefined, kind: string): string {
  const [label, short] = RESOURCE_LABELS[kind] ?? [kind, kind];
  const name = labels?.[label];
  return name ? `${short}/${name}` : '';
}

/** A side of a request: its pod when the tap API named it, else its IP. */
function peer(meta: tap.TapEvent_EndpointMeta | undefined, a: net.TcpAddress | undefined): string {
  return meta?.labels['pod'] || (a?.ip ? ipAddressToString(a.ip) : '-');
}

const idText = (x: tap.TapEvent_Http_StreamId | undefined) => `id=${x?.base ?? 0}:${x?.stream ?? 0n}`;

/** One event as Linkerd prints it; `wideKind` (deployment, pod, ...) adds the resource columns of -o wide. */
export function tapLineText(e: tap.TapEvent, wideKind?: string): string {
  const proxy = e.proxyDirection === tap.TapEvent_ProxyDirection.INBOUND ? 'in ' : e.proxyDirection === tap.TapEvent_ProxyDirection.OUTBOUND ? 'out' : '???';
  const flow = `proxy=${proxy} src=${addrText(e.source)} dst=${addrText(e.destination)} tls=${tlsOf(e)}`;
  const wide =
    wideKind === undefined
      ? ''
      : ` src_res=${resourceOf(e.sourceMeta?.labels, wideKind)} src_ns=${e.sourceMeta?.labels['namespace'] ?? ''}` +
        ` dst_res=${resourceOf(e.destinationMeta?.labels, wideKind)} dst_ns=${e.destinationMeta?.labels['namespace'] ?? ''}`;
  const ev = e.event?.value.event;
  if (ev === undefined) return `unknown event ${flow}${wide}`;
  switch (ev.$case) {
    case 'requestInit': {
      const r = ev.value;
      return `req ${idText(r.id)} ${flow} :method=${methodText(r.method)} :authority=${r.authority} :path=${r.path}${wide}`;
    }
    case 'responseInit': {
      const r = ev.value;
      return `rsp ${idText(r.id)} ${flow} :status=${r.httpStatus} latency=${micros(r.sinceRequestInit)}\u00b5s${wide}`;
    }
    case 'responseEnd': {
      const r = ev.value;
      const end = r.eos?.end;
      const eos = end?.$case === 'grpcStatusCode' ? ` grpc-status=${grpcCodeName(end.value)}` : end?.$case === 'resetErrorCode' ? ` reset-error=${end.value}` : '';
      return `end ${idText(r.id)} ${flow}${eos} duration=${micros(r.sinceResponseInit)}\u00b5s response-length=${r.responseBytes}B${wide}`;
    }
  }
}

interface Pending {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  status: number;
}

/** One tap's events in order, as lines; keeps the requests in flight to pair each end with its init. */
export class TapEvents {
  readonly #pending = new Map<string, Pending>();

  line(e: tap.TapEvent, wideKind?: string): TapLine | undefined {
    const ev = e.event?.value.event;
    if (ev === undefined) return undefined;
    const text = tapLineText(e, wideKind);
    const key = `${e.proxyDirection}|${addrText(e.source)}|${addrText(e.destination)}|${idText(ev.value.id)}`;
    switch (ev.$case) {
      case 'requestInit': {
        if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value as string);
        this.#pending.set(key, { source: peer(e.sourceMeta, e.source), destination: peer(e.destinationMeta, e.destination), method: methodText(ev.value.method), path: ev.value.path, status: 0 });
        return { kind: 'req', text };
      }
      case 'responseInit': {
        const p = this.#pending.get(key);
        if (p) p.status = ev.value.httpStatus;
        return { kind: 'rsp', text };
      }
      case 'responseEnd': {
        const p = this.#pending.get(key);
        if (!p) return { kind: 'end', text };
        this.#pending.delete(key);
        const end = ev.value.eos?.end;
        const ok = p.status > 0 && p.status < 500 && !(end?.$case === 'grpcStatusCode' && end.value !== 0) && end?.$case !== 'resetErrorCode';
        const latencyMs = ev.value.sinceRequestInit ? durationToMillis(ev.value.sinceRequestInit) : 0;
        return { kind: 'end', text, done: { source: p.source, destination: p.destination, method: p.method, path: p.path, latencyMs, ok } };
      }
    }
  }
}
