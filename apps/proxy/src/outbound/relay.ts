// The relay of the one attempt-and-relay: the chosen attempt's response goes back to the client through its
// codec's Downstream, whatever route chose it (ServiceProfile or OutboundPolicy) and whatever carried it
// (HTTP/1, HTTP/2, gRPC): status and gRPC status recorded on the exchange, the response header edits of the route
// applied, the body relayed with back-pressure, trailers passed on, and an upstream that goes away mid-response
// cut towards the client (an HTTP/2 reset passed on with its code, an HTTP/1 connection closed).
import type { Writable } from 'node:stream';
import type { Downstream, Headers } from '../http/exchange.ts';
import { defaultIsFailure } from '../profiles/routes.ts';
import type { MeshPick, UpResponse } from './endpoint-client.ts';
import { grpcOf, relayBody } from './endpoint-client.ts';

const RESET_NAMES: Record<number, string> = {
  0x1: 'PROTOCOL_ERROR',
  0x2: 'INTERNAL_ERROR',
  0x3: 'FLOW_CONTROL_ERROR',
  0x5: 'STREAM_CLOSED',
  0x7: 'REFUSED_STREAM',
  0x8: 'CANCEL',
  0xb: 'ENHANCE_YOUR_CALM',
};

/** Linkerd's `error` label for an HTTP/2 reset code. */
export function resetLabel(code: number): string {
  return `h2(${RESET_NAMES[code] ?? `UNKNOWN(${code})`})`;
}

export interface RelayOptions {
  /** Edits the route's filters make to the response headers. */
  readonly edit?: (headers: Headers) => void;
  /** Told of each sign of life (the head, every body chunk): an idle timeout restarts. */
  readonly touch?: () => void;
  /** The body already ended while the attempt was looked at (gRPC trailers peeked): only the trailers are left. */
  readonly drained?: boolean;
}

/** Answers the client with `res`, received from `p`'s endpoint; the exchange finishes when the response does. */
export function relay(d: Downstream, res: UpResponse, p: MeshPick, o: RelayOptions = {}): void {
  const ex = d.ex;
  if (ex.finished) {
    // The client went away (or a timeout answered) while the response head was on its way.
    res.cancel();
    return p.done(false);
  }
  o.touch?.();
  ex.status = res.status;
  if (res.grpcStatus !== undefined) ex.grpcStatus = res.grpcStatus;
  ex.onFinish((e) => p.done(e.errorLabel === '' && e.status > 0 && !defaultIsFailure(e.status, e.grpcStatus >= 0 ? e.grpcStatus : undefined)));
  const headers = res.headers;
  o.edit?.(headers);
  if (res.ended) {
    d.head(res.status, headers, true);
    ex.finish();
    return;
  }
  const sink = d.head(res.status, headers, false) as Writable;
  if (o.drained) return void end(d, res);
  relayTo(d, res, p, sink, o.touch);
}

function end(d: Downstream, res: UpResponse): void {
  const t = res.trailers();
  const g = t ? grpcOf(t) : undefined;
  if (g !== undefined) d.ex.grpcStatus = g;
  d.end(t);
  d.ex.finish();
}

function relayTo(d: Downstream, res: UpResponse, p: MeshPick, sink: Writable, touch: (() => void) | undefined): void {
  const ex = d.ex;
  const body = res.body;
  let first = true;
  relayBody(body, sink, false, () => {
    if (first) {
      first = false;
      ex.firstByte();
      p.firstByte();
    }
    touch?.();
  });
  // 'end' and 'close' come once each.
  body.on('end', () => end(d, res));
  body.on('close', () => {
    if (ex.finished) return;
    // The upstream went away mid-response: the client sees it cut, not a truncated success.
    const code = res.resetCode();
    ex.errorLabel = code !== undefined ? resetLabel(code) : 'i/o';
    d.abort(code);
    ex.finish();
  });
}
