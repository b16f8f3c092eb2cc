// Linkerd's `tap` line format: one line per event,
//   req id=3:0 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :method=GET :authority=web-svc:80 :path=/api/list
//   rsp id=3:0 proxy=in  src=... dst=... tls=true :status=200 latency=1092µs
//   end id=3:0 proxy=in  src=... dst=... tls=true duration=53µs response-length=4560B
// `tls` comes from the source's metadata for inbound events and the destination's for outbound ones; -o wide adds
// each side's resource and namespace (src_res=deploy/web src_ns=emojivoto ...), -o json one JSON object per event.
import { durationToMillis, ipAddressToString, tap, type httpTypes, type net } from '@trellis/proto';

const GRPC_CODES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted',
  'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'HEAD', 'TRACE'];

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

/** One event as Linkerd prints it; `wideKind` (deployment, pod, ...) adds the resource columns of -o wide. */
export function renderTapLine(e: tap.TapEvent, wideKind?: string): string {
  const proxy = e.proxyDirection === tap.TapEvent_ProxyDirection.INBOUND ? 'in ' : e.proxyDirection === tap.TapEvent_ProxyDirection.OUTBOUND ? 'out' : '???';
  const flow = `proxy=${proxy} src=${addrText(e.source)} dst=${addrText(e.destination)} tls=${tlsOf(e)}`;
  const wide =
    wideKind === undefined
      ? ''
      : ` src_res=${resourceOf(e.sourceMeta?.labels, wideKind)} src_ns=${e.sourceMeta?.labels['namespace'] ?? ''}` +
        ` dst_res=${resourceOf(e.destinationMeta?.labels, wideKind)} dst_ns=${e.destinationMeta?.labels['namespace'] ?? ''}`;
  const ev = e.event?.value.event;
  if (ev === undefined) return `unknown event ${flow}${wide}`;
  const id = (x: tap.TapEvent_Http_StreamId | undefined) => `id=${x?.base ?? 0}:${x?.stream ?? 0n}`;
  switch (ev.$case) {
    case 'requestInit': {
      const r = ev.value;
      return `req ${id(r.id)} ${flow} :method=${methodText(r.method)} :authority=${r.authority} :path=${r.path}${wide}`;
    }
    case 'responseInit': {
      const r = ev.value;
      return `rsp ${id(r.id)} ${flow} :status=${r.httpStatus} latency=${micros(r.sinceRequestInit)}µs${wide}`;
    }
    case 'responseEnd': {
      const r = ev.value;
      const end = r.eos?.end;
      const eos = end?.$case === 'grpcStatusCode' ? ` grpc-status=${grpcCodeName(end.value)}` : end?.$case === 'resetErrorCode' ? ` reset-error=${end.value}` : '';
      return `end ${id(r.id)} ${flow}${eos} duration=${micros(r.sinceResponseInit)}µs response-length=${r.responseBytes}B${wide}`;
    }
  }
}

/** -o json: the event in protobuf's JSON mapping, indented as Linkerd prints it. */
export function renderTapJson(e: tap.TapEvent): string {
  return JSON.stringify(tap.TapEvent.toJSON(e), null, 2);
}
