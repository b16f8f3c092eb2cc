import { describe, expect, it } from 'vitest';
import { durationFromMillis, ipAddressToString, tap, type httpTypes } from '@trellis/proto';
import { encodeEventBase, eventBaseMessage, eventBaseOf, writeRequestInit, writeResponseEnd, writeResponseInit, type TapEos } from './events.ts';
import { httpMethodOf, type TapSubject } from './match.ts';
import { ProtoWriter } from './proto-writer.ts';

const s: TapSubject = {
  sourceIp: '10.244.0.10',
  sourcePort: 42658,
  destinationIp: '10.244.0.12',
  destinationPort: 8080,
  destinationLabels: { deployment: 'voting' },
  routeLabels: {},
  scheme: 'http',
  method: 'GET',
  authority: 'web-svc.emojivoto:80',
  path: '/api/list',
};

const baseOf = (b: Buffer) => tap.TapEvent.decode(b);

/** The one gRPC message `write` puts in a fresh writer. */
function one(write: (w: ProtoWriter) => void): Buffer {
  const w = new ProtoWriter(16);
  write(w);
  const out = w.take();
  expect(out[0]).toBe(0);
  expect(out.readUInt32BE(1)).toBe(out.length - 5);
  return out.subarray(5);
}

/** What the generated encoder makes of the same event. */
function generated(b: Buffer, http: tap.TapEvent_Http['event']): Buffer {
  return Buffer.from(tap.TapEvent.encode({ ...tap.TapEvent.decode(b), event: { $case: 'http', value: { event: http } } }).finish());
}

const id = (base: number, stream: number) => ({ base, stream: BigInt(stream) });
const scheme = (name: string): httpTypes.Scheme =>
  name === 'http' ? { type: { $case: 'registered', value: 0 } } : name === 'https' ? { type: { $case: 'registered', value: 1 } } : { type: { $case: 'unregistered', value: name } };

describe('tap events', () => {
  it('carries the client identity of a meshed inbound request on the source side', () => {
    const b = baseOf(encodeEventBase(s, { direction: 'inbound', clientId: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local' }));
    expect(b.proxyDirection).toBe(tap.TapEvent_ProxyDirection.INBOUND);
    expect(b.sourceMeta?.labels).toEqual({ tls: 'true', client_id: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local' });
    expect(b.source?.ip && ipAddressToString(b.source.ip)).toBe('10.244.0.10');
    expect(b.source?.port).toBe(42658);
    expect(b.event).toBeUndefined();
  });

  it('carries the endpoint identity and labels of an outbound request on the destination side', () => {
    const b = eventBaseMessage(s, { direction: 'outbound', serverId: 'voting.emojivoto.serviceaccount.identity.linkerd.cluster.local', destinationLabels: s.destinationLabels });
    expect(b.proxyDirection).toBe(tap.TapEvent_ProxyDirection.OUTBOUND);
    expect(b.destinationMeta?.labels).toEqual({ deployment: 'voting', tls: 'true', server_id: 'voting.emojivoto.serviceaccount.identity.linkerd.cluster.local' });
    expect(eventBaseMessage(s, { direction: 'inbound' }).sourceMeta?.labels).toEqual({ tls: 'no_identity' });
  });

  it('writes request init, response init and response end byte for byte as the generated encoder does', () => {
    const b = encodeEventBase(s, { direction: 'inbound', clientId: 'x' });
    const long = 'v'.repeat(20_000);
    const headers = { 'user-agent': 'curl', accept: ['a', 'b'], 'x-long': long, 'x-utf8': 'caf\u00e9 \u2713', 'x-none': undefined };
    const cases: [string, (w: ProtoWriter) => void, tap.TapEvent_Http['event']][] = [
      ['request init', (w) => writeRequestInit(w, b, 3, 0, s), { $case: 'requestInit', value: { id: id(3, 0), method: httpMethodOf('GET'), scheme: scheme('http'), authority: s.authority, path: s.path, headers: undefined } }],
      [
        'request init with headers, an unregistered method and scheme',
        (w) => writeRequestInit(w, b, 0, 300, { ...s, method: 'PROPFIND', scheme: 'ftp', authority: '' }, headers),
        {
          $case: 'requestInit',
          value: {
            id: id(0, 300),
            method: httpMethodOf('PROPFIND'),
            scheme: scheme('ftp'),
            authority: '',
            path: s.path,
            headers: {
              headers: [
                { name: 'user-agent', value: Buffer.from('curl') },
                { name: 'accept', value: Buffer.from('a') },
                { name: 'accept', value: Buffer.from('b') },
                { name: 'x-long', value: Buffer.from(long) },
                { name: 'x-utf8', value: Buffer.from('caf\u00e9 \u2713') },
              ],
            },
          },
        },
      ],
      ['https request init', (w) => writeRequestInit(w, b, 1, 1, { ...s, scheme: 'https', method: 'POST' }), { $case: 'requestInit', value: { id: id(1, 1), method: httpMethodOf('POST'), scheme: scheme('https'), authority: s.authority, path: s.path, headers: undefined } }],
      ['response init', (w) => writeResponseInit(w, b, 3, 0, 1.092, 200), { $case: 'responseInit', value: { id: id(3, 0), sinceRequestInit: durationFromMillis(1.092), httpStatus: 200, headers: undefined } }],
      ['response init after seconds', (w) => writeResponseInit(w, b, 3, 2 ** 40, 61_234.5678, 503), { $case: 'responseInit', value: { id: id(3, 2 ** 40), sinceRequestInit: durationFromMillis(61_234.5678), httpStatus: 503, headers: undefined } }],
      ...(
        [
          [{ grpcStatus: 14 }, { end: { $case: 'grpcStatusCode', value: 14 } }],
          [{ grpcStatus: 0 }, { end: { $case: 'grpcStatusCode', value: 0 } }],
          [{ resetCode: 8 }, { end: { $case: 'resetErrorCode', value: 8 } }],
          [{ resetCode: 0 }, { end: { $case: 'resetErrorCode', value: 0 } }],
          [{}, undefined],
        ] as [TapEos, tap.Eos | undefined][]
      ).map(([eos, want]): [string, (w: ProtoWriter) => void, tap.TapEvent_Http['event']] => [
        `response end ${JSON.stringify(eos)}`,
        (w) => writeResponseEnd(w, b, 3, 7, { sinceRequestMs: 2, sinceResponseMs: 0, bytes: 5_000_000_000 }, eos),
        { $case: 'responseEnd', value: { id: id(3, 7), sinceRequestInit: durationFromMillis(2), sinceResponseInit: durationFromMillis(0), responseBytes: 5_000_000_000n, eos: want, trailers: undefined } },
      ]),
    ];
    for (const [name, write, want] of cases) {
      const bytes = one(write);
      expect(bytes.equals(generated(b, want)), name).toBe(true);
      expect(tap.TapEvent.decode(bytes).event, name).toEqual({ $case: 'http', value: { event: want } });
    }
  });

  it('writes the events of many requests back to back in one buffer, each a gRPC message', () => {
    const b = encodeEventBase(s, { direction: 'outbound' });
    const w = new ProtoWriter(8);
    for (let i = 0; i < 50; i++) {
      writeRequestInit(w, b, 2, i, s);
      writeResponseInit(w, b, 2, i, 1, 200);
      writeResponseEnd(w, b, 2, i, { sinceRequestMs: 2, sinceResponseMs: 1, bytes: 1024 }, {});
    }
    const all = w.take();
    const kinds: string[] = [];
    for (let at = 0; at < all.length; ) {
      const len = all.readUInt32BE(at + 1);
      const e = tap.TapEvent.decode(all.subarray(at + 5, at + 5 + len)).event?.value.event;
      kinds.push(`${e?.value.id?.stream}:${e?.$case}`);
      at += 5 + len;
    }
    expect(kinds).toHaveLength(150);
    expect(kinds.slice(-3)).toEqual(['49:requestInit', '49:responseInit', '49:responseEnd']);
    expect(w.length).toBe(0);
  });

  it('encodes the shared part once per connection while its requests share it', () => {
    const conn = {};
    const labels = { pod: 'voting-1' };
    const out = (ip: string) => ({ ...s, destinationIp: ip, destinationLabels: labels });
    const sides = { direction: 'outbound' as const, serverId: 'voting', destinationLabels: labels };
    const first = eventBaseOf(conn, out('10.0.0.1'), sides);
    expect(eventBaseOf(conn, out('10.0.0.1'), { ...sides })).toBe(first);
    // Another endpoint picked for the next request on the connection: its own address in its events.
    const other = eventBaseOf(conn, out('10.0.0.2'), sides);
    expect(other).not.toBe(first);
    expect(baseOf(other).destination?.ip && ipAddressToString(baseOf(other).destination?.ip ?? { ip: undefined })).toBe('10.0.0.2');
    expect(eventBaseOf({}, out('10.0.0.2'), sides)).not.toBe(other);
    expect(eventBaseOf(undefined, out('10.0.0.2'), sides).equals(other)).toBe(true);
  });
});
