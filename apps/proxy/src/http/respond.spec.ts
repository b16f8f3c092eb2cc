import { describe, expect, it } from 'vitest';
import { ConnectError, ConnectTimeoutError, LoadShedError } from '../errors.ts';
import { grpcMessage, isGrpcContentType, synthesize } from './respond.ts';

const ctx = { direction: 'outbound', proxyName: 'web-0.emojivoto', informational: true, identify: true } as const;

describe('synthesize', () => {
  it('answers a refused connection with 502, l5d-proxy-error, our code and source, and connection close', () => {
    const r = synthesize(new ConnectError('10.0.0.9:80', 'ECONNREFUSED'), false, ctx);
    expect(r.status).toBe(502);
    expect(r.close).toBe(true);
    expect(r.headers).toEqual({
      'content-length': '0',
      'l5d-proxy-error': 'connect to 10.0.0.9:80 failed: ECONNREFUSED',
      'trellis-proxy-error-code': 'TRELLIS_ERR_CONNECT',
      'trellis-proxy-error-source': 'outbound proxy web-0.emojivoto',
    });
  });

  it('answers load shedding with 503 and timeouts with 504', () => {
    expect(synthesize(new LoadShedError(10), false, ctx).status).toBe(503);
    expect(synthesize(new ConnectTimeoutError('10.0.0.9:80', 100), false, ctx).status).toBe(504);
  });

  it('answers gRPC callers with 200 and grpc-status/grpc-message', () => {
    const r = synthesize(new ConnectError('10.0.0.9:80', 'ECONNREFUSED'), true, ctx);
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status']).toBe('14');
    expect(r.headers['grpc-message']).toBe('connect to 10.0.0.9:80 failed: ECONNREFUSED');
    expect(synthesize(new ConnectTimeoutError('x', 1), true, ctx).headers['grpc-status']).toBe('4');
  });

  it('leaves out the informational headers when they are disabled', () => {
    const r = synthesize(new ConnectError('x', 'ECONNREFUSED'), true, { ...ctx, informational: false, identify: false });
    expect(Object.keys(r.headers).sort()).toEqual(['content-type', 'grpc-status']);
  });

  it('still names the code and the proxy when only Linkerd\'s informational headers are off (inbound, plaintext peer)', () => {
    const r = synthesize(new ConnectError('x', 'ECONNREFUSED'), false, { ...ctx, direction: 'inbound', informational: false });
    expect(r.headers).toEqual({ 'content-length': '0', 'trellis-proxy-error-code': 'TRELLIS_ERR_CONNECT', 'trellis-proxy-error-source': 'inbound proxy web-0.emojivoto' });
  });
});

describe('grpcMessage and isGrpcContentType', () => {
  it('percent-encodes non-ASCII and percent signs', () => expect(grpcMessage('50% caf\u00e9')).toBe('50%25 caf%C3%A9'));
  it('recognizes gRPC content types', () => {
    expect(isGrpcContentType('application/grpc+proto')).toBe(true);
    expect(isGrpcContentType('application/json')).toBe(false);
    expect(isGrpcContentType(undefined)).toBe(false);
  });
});
