import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotRedirectedError, OriginalDstError } from './errors.ts';
import { addonCandidates, loadAddon, type NativeAddon, type NativeResult } from './native.ts';
import { errnoName, familyOf, originalDestination, unmapAddress } from './original-dst.ts';

// A connected pair over loopback in this process; the tests read the accepted (server) side.
let server: ReturnType<typeof createServer>;
let accepted: Socket;
let client: Socket;

beforeAll(async () => {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const acceptedP = once(server, 'connection');
  client = connect(port, '127.0.0.1');
  [accepted] = (await acceptedP) as [Socket];
  await once(client, 'connect').catch(() => undefined);
});

afterAll(() => {
  client.destroy();
  accepted.destroy();
  server.close();
});

const fake = (v4: NativeResult, v6: NativeResult = v4) => {
  const calls: string[] = [];
  const addon: NativeAddon = {
    originalDst4: (fd) => (calls.push(`v4:${fd}`), v4),
    originalDst6: (fd) => (calls.push(`v6:${fd}`), v6),
  };
  return { addon, calls };
};
const socketLike = (remoteAddress: string, localAddress: string, localPort: number, fd = 42) =>
  ({ remoteAddress, localAddress, localPort, _handle: { fd } }) as unknown as Socket;

describe('original destination', () => {
  it('takes the IPv4 call for IPv4 and IPv4-mapped peers, the IPv6 call otherwise', () => {
    expect(familyOf('10.244.1.2')).toBe(4);
    expect(familyOf('::ffff:10.244.1.2')).toBe(4);
    expect(familyOf('fd00::2')).toBe(6);
    expect(unmapAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapAddress('fd00::ffff:1')).toBe('fd00::ffff:1');

    const { addon, calls } = fake({ address: '10.244.1.1', port: 8080 }, { address: 'fd00::1', port: 8080 });
    expect(originalDestination(socketLike('::ffff:10.244.1.2', '::ffff:127.0.0.1', 4140), addon)).toEqual({ address: '10.244.1.1', port: 8080, family: 4 });
    expect(originalDestination(socketLike('fd00::2', '::1', 4140, 7), addon)).toEqual({ address: 'fd00::1', port: 8080, family: 6 });
    expect(calls).toEqual(['v4:42', 'v6:7']);
  });

  it('reports a connection without a NAT record as not redirected, with the local address', () => {
    const { addon } = fake(constants.errno.ENOENT);
    const err = (() => {
      try {
        return originalDestination(socketLike('10.0.0.2', '10.0.0.1', 4143), addon);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NotRedirectedError);
    expect(err).toMatchObject({ code: 'TRELLIS_ERR_NOT_REDIRECTED', local: { address: '10.0.0.1', port: 4143 } });
  });

  it('reports a connection made to the socket’s own address as not redirected', () => {
    const { addon } = fake({ address: '10.0.0.1', port: 4143 });
    expect(() => originalDestination(socketLike('::ffff:10.0.0.2', '::ffff:10.0.0.1', 4143), addon)).toThrow(NotRedirectedError);
  });

  it('names any other errno', () => {
    const { addon } = fake(constants.errno.EBADF);
    expect(() => originalDestination(socketLike('10.0.0.2', '10.0.0.1', 4143), addon)).toThrow(
      expect.objectContaining({ code: 'TRELLIS_ERR_ORIGINAL_DST', errno: 'EBADF', message: 'getsockopt(SO_ORIGINAL_DST) failed: EBADF' }),
    );
    expect(errnoName(100000)).toBe('errno 100000');
  });

  it('refuses a socket without a file descriptor or peer', () => {
    const { addon, calls } = fake(0);
    expect(() => originalDestination({ remoteAddress: undefined } as unknown as Socket, addon)).toThrow(OriginalDstError);
    expect(() => originalDestination(socketLike('10.0.0.2', '10.0.0.1', 1, -1), addon)).toThrow(OriginalDstError);
    expect(calls).toEqual([]);
  });

  it('looks for the addon at $TRELLIS_NET_ADDON first, then through the package export', () => {
    const candidates = addonCandidates({ TRELLIS_NET_ADDON: '/opt/trellis/trellis_net.node' });
    expect(candidates[0]).toBe('/opt/trellis/trellis_net.node');
    expect(candidates.some((c) => c.endsWith('/libs/net/build/Release/trellis_net.node'))).toBe(true);
  });

  it('loads the compiled addon and rejects a non-number file descriptor', () => {
    const addon = loadAddon();
    expect(() => addon.originalDst4('3' as unknown as number)).toThrow(/expected a file descriptor/);
    expect(addon.originalDst4(-1)).toBe(constants.errno.EBADF);
  });

  it('says a plain loopback connection was not redirected (real addon)', () => {
    expect(() => originalDestination(accepted)).toThrow(NotRedirectedError);
  });

  it('says a closed socket cannot be asked (real addon)', async () => {
    const s = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(s, 'connect');
    s.destroy();
    expect(() => originalDestination(s)).toThrow(OriginalDstError);
  });
});
