import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProxyError } from '../errors.ts';
import { Exchange, type Downstream, type Headers, type HttpContext, type RequestHead } from '../http/exchange.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { MeshPick, UpResponse } from './endpoint-client.ts';
import { relay, resetLabel } from './relay.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');

class TestExchange extends Exchange {
  constructor() {
    super(targets.get('outbound', '10.0.0.1', 80, false), false, ctx);
  }
  forward(): void {
    // relayed by the stage under test
  }
  downstream(): undefined {
    return undefined;
  }
  requestHead(): RequestHead {
    throw new Error('not read');
  }
  protected respondError(_err: ProxyError): void {
    // not reached
  }
}

/** A client side that records what the relay wrote to it. */
function client() {
  const ex = new TestExchange();
  const sink = new PassThrough();
  const seen: { head?: [number, Headers, boolean]; body: string; trailers?: unknown; aborted?: number | 'none' } = { body: '' };
  sink.on('data', (c: Buffer) => (seen.body += c.toString()));
  const d = {
    ex,
    headersSent: false,
    head(status: number, headers: Headers, end: boolean) {
      seen.head = [status, { ...headers }, end];
      return end ? undefined : sink;
    },
    end(t: unknown) {
      seen.trailers = t;
    },
    abort(code?: number) {
      seen.aborted = code ?? 'none';
    },
    onGone: () => undefined,
  } as unknown as Downstream;
  return { ex, d, seen };
}

function response(o: Partial<UpResponse> & { body?: PassThrough; reset?: number; trailer?: Record<string, string> }): UpResponse {
  const body = o.body ?? new PassThrough();
  return { status: 200, grpcStatus: undefined, headers: {}, ended: false, trailers: () => o.trailer, resetCode: () => o.reset, cancel: () => body.destroy(), ...o, body };
}

function pick() {
  const log: string[] = [];
  const p: MeshPick = { me: { endpoint: { addr: '10.0.0.7:80' } } as MeshPick['me'], firstByte: () => log.push('first byte'), done: (ok) => log.push(`done ${ok}`) };
  return { p, log };
}

describe('the relay of the chosen attempt', () => {
  it('answers with the status, the route edits of the headers, the body and the trailers, then settles the pick', async () => {
    const { ex, d, seen } = client();
    const { p, log } = pick();
    const body = new PassThrough();
    relay(d, response({ status: 201, headers: { 'x-a': '1' }, body, trailer: { 'grpc-status': '0' } }), p, { edit: (h) => (h['x-route'] = 'added') });
    body.end('hello');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual({ head: [201, { 'x-a': '1', 'x-route': 'added' }, false], body: 'hello', trailers: { 'grpc-status': '0' } });
    expect([ex.finished, ex.status, ex.grpcStatus]).toEqual([true, 201, 0]);
    expect(log).toEqual(['first byte', 'done true']);
  });

  it('passes an upstream reset mid-body on with its code, and counts it as a failure of the endpoint', async () => {
    const { ex, d, seen } = client();
    const { p, log } = pick();
    const body = new PassThrough();
    relay(d, response({ body, reset: 0x8 }), p);
    body.write('part');
    await new Promise((r) => setImmediate(r));
    body.destroy();
    await new Promise((r) => setImmediate(r));
    expect([seen.body, seen.aborted, ex.errorLabel, resetLabel(0x8)]).toEqual(['part', 0x8, 'h2(CANCEL)', 'h2(CANCEL)']);
    expect(log).toEqual(['first byte', 'done false']);
  });

  it('ends a body-less answer at once, and gives the pick back when the client is already gone', () => {
    const a = client();
    const pa = pick();
    relay(a.d, response({ status: 204, ended: true }), pa.p);
    expect([a.seen.head?.[2], a.ex.finished, pa.log]).toEqual([true, true, ['done true']]);
    const b = client();
    const pb = pick();
    b.ex.errorLabel = 'i/o';
    b.ex.finish();
    const res = response({});
    relay(b.d, res, pb.p);
    expect([b.seen.head, res.body.destroyed, pb.log]).toEqual([undefined, true, ['done false']]);
  });
});
