import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { composeConn, originalDst, refuse, RefusedConnection, type Accepted } from './accept.ts';

function fakeSocket(): Socket & { destroyed: boolean; reset: boolean } {
  const s = {
    destroyed: false,
    reset: false,
    destroy() {
      s.destroyed = true;
    },
    resetAndDestroy() {
      s.reset = true;
      s.destroyed = true;
    },
  };
  return s as unknown as Socket & { destroyed: boolean; reset: boolean };
}

const deps = () => ({ direction: 'inbound' as const, metrics: new ProxyMetrics(), onRefused: () => undefined });

describe('originalDst', () => {
  it('records the original destination and passes the connection on', () => {
    const d = deps();
    const seen: Accepted[] = [];
    const socket = fakeSocket();
    composeConn(originalDst(() => ({ ip: '10.0.0.5', port: 8080 }), d))((c) => seen.push(c))({ socket });
    expect(seen[0]?.dst).toEqual({ ip: '10.0.0.5', port: 8080 });
  });

  it('closes a connection whose original destination cannot be read, and counts it', () => {
    const d = deps();
    const socket = fakeSocket();
    let reached = false;
    originalDst(() => {
      throw Object.assign(new Error('not redirected'), { code: 'TRELLIS_ERR_NOT_REDIRECTED' });
    }, d)(() => (reached = true))({ socket });
    expect(reached).toBe(false);
    expect(socket.destroyed).toBe(true);
    expect(d.metrics.render()).toContain('trellis_proxy_errors_total{direction="inbound",protocol="tcp",code="TRELLIS_ERR_NOT_REDIRECTED"} 1');
  });
});

describe('refuse', () => {
  it('resets connections the check refuses and passes the others', () => {
    const d = deps();
    const check = (dst: { port: number }) => (dst.port === 4143 ? new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', 'loop') : undefined);
    const passed: number[] = [];
    const layer = refuse(check, d)((c) => passed.push(c.dst?.port ?? 0));
    const looping = fakeSocket();
    layer({ socket: looping, dst: { ip: '10.0.0.5', port: 4143 } });
    layer({ socket: fakeSocket(), dst: { ip: '10.0.0.5', port: 80 } });
    expect(looping.reset).toBe(true);
    expect(passed).toEqual([80]);
    expect(d.metrics.render()).toContain('inbound_tcp_errors_total{error="unexpected"} 1');
  });
});
