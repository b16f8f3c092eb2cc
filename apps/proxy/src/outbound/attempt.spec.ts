import { describe, expect, it } from 'vitest';
import { IdentityRequiredError, type ProxyError } from '../errors.ts';
import { Exchange, type Downstream, type HttpContext, type RequestHead } from '../http/exchange.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { EndpointClient, MeshPick, SendListener } from './endpoint-client.ts';
import { ExchangeEndedError, InFlight, sendAttempt } from './attempt.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');

class TestExchange extends Exchange {
  constructor() {
    super(targets.get('outbound', '10.0.0.1', 80, false), false, ctx);
  }
  forward(): void {
    // sent by the stage under test
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

function downstream(headers: Record<string, string> = {}) {
  const ex = new TestExchange();
  let gone: () => void = () => undefined;
  const d = { ex, headers, method: 'GET', target: '/', path: '/', authority: 'books', scheme: 'http', h1: undefined, onGone: (f: () => void) => (gone = f) } as unknown as Downstream;
  return { ex, d, leave: () => gone() };
}

function pick(identity: string | undefined) {
  const log: string[] = [];
  const p: MeshPick = { me: { endpoint: { addr: '10.0.0.7:80', identity } } as MeshPick['me'], firstByte: () => undefined, done: (ok) => log.push(`done ${ok}`) };
  return { p, log };
}

/** An endpoint client whose sends stay open until the test answers them: records what it was asked. */
function client() {
  const sends: { listener: SendListener; cancelled: boolean }[] = [];
  const c = {
    send: (_me: unknown, _r: unknown, _h: unknown, _b: unknown, listener: SendListener) => {
      const s = { listener, cancelled: false };
      sends.push(s);
      return { cancel: () => (s.cancelled = true) };
    },
  } as unknown as EndpointClient;
  return { c, sends };
}

describe('one attempt on a picked endpoint', () => {
  it('refuses an endpoint whose identity is not the one l5d-require-id names, without sending, and gives it back as healthy', async () => {
    const { d } = downstream({ 'l5d-require-id': 'books.default.serviceaccount.identity.trellis.cluster.local' });
    const { c, sends } = client();
    const flight = new InFlight(d);
    const { p, log } = pick('authors.default.serviceaccount.identity.trellis.cluster.local');
    await flight.pick(async () => p);
    await expect(sendAttempt(d, c, p, {}, { kind: 'none' }, flight)).rejects.toBeInstanceOf(IdentityRequiredError);
    expect([sends.length, log]).toEqual([0, ['done true']]);
  });

  it('gives the endpoint back exactly once, whether the attempt fails, is cancelled, or both', async () => {
    const { d } = downstream();
    const { c, sends } = client();
    const flight = new InFlight(d);
    const { p, log } = pick(undefined);
    await flight.pick(async () => p);
    const sending = sendAttempt(d, c, p, {}, { kind: 'none' }, flight);
    flight.cancel();
    sends[0]?.listener.error(new Error('stream reset'));
    await expect(sending).rejects.toThrow('stream reset');
    expect([sends[0]?.cancelled, log]).toEqual([true, ['done false']]);
  });

  it('stops what is in flight when the client goes away, and hands back a pick that comes after the end', async () => {
    const { ex, d, leave } = downstream();
    const { c, sends } = client();
    const flight = new InFlight(d);
    const first = pick(undefined);
    await flight.pick(async () => first.p);
    void sendAttempt(d, c, first.p, {}, { kind: 'none' }, flight).catch(() => undefined);
    leave();
    expect([sends[0]?.cancelled, first.log, ex.finished, ex.errorLabel]).toEqual([true, ['done false'], true, 'i/o']);
    const late = pick(undefined);
    await expect(flight.pick(async () => late.p)).rejects.toBeInstanceOf(ExchangeEndedError);
    expect(late.log).toEqual(['done false']);
  });
});
