import { describe, expect, it } from 'vitest';
import type { Exchange } from '../http/exchange.ts';
import { eosOf, subjectOf, tapLayer } from './layer.ts';
import { TapRegistry } from './registry.ts';

function fakeExchange(target: string, headers: Record<string, string>): Exchange {
  // Only what the layer reads: a request head, the target and the watcher slot.
  return {
    entry: { target: { ip: '10.0.0.2', port: 8080 } },
    watcher: undefined,
    header: (name: string) => headers[name],
    requestHead: () => ({ method: 'GET', target, headers, connection: { remoteAddress: '::ffff:10.0.0.1', remotePort: 5555 } }),
  } as unknown as Exchange;
}

describe('tap layer', () => {
  it('passes requests through untouched while no tap is open', () => {
    const ex = fakeExchange('/a', { host: 'web' });
    let passed = 0;
    tapLayer(new TapRegistry(), 'inbound')(() => passed++)(ex);
    expect(passed).toBe(1);
    expect(ex.watcher).toBeUndefined();
  });

  it('reads the subject from the request: path without query, authority, mapped IPv4 source', () => {
    expect(subjectOf(fakeExchange('/api/vote?choice=doughnut', { host: 'web-svc:80' }))).toMatchObject({
      sourceIp: '10.0.0.1',
      sourcePort: 5555,
      destinationIp: '10.0.0.2',
      destinationPort: 8080,
      scheme: 'http',
      method: 'GET',
      authority: 'web-svc:80',
      path: '/api/vote',
    });
    expect(subjectOf(fakeExchange('/x', { ':authority': 'voting-svc:8080', ':scheme': 'https' }))).toMatchObject({ authority: 'voting-svc:8080', scheme: 'https' });
    expect(subjectOf(fakeExchange('http://emoji-svc:8080/list?x', {}))).toMatchObject({ authority: 'emoji-svc:8080', path: '/list' });
  });

  it('ends gRPC responses with their status and reset streams with the HTTP/2 code', () => {
    expect(eosOf({ grpc: true, grpcStatus: 14, errorLabel: '' })).toEqual({ grpcStatus: 14 });
    expect(eosOf({ grpc: true, grpcStatus: -1, errorLabel: 'h2(CANCEL)' })).toEqual({ resetCode: 8 });
    expect(eosOf({ grpc: false, grpcStatus: -1, errorLabel: '' })).toEqual({});
  });
});
