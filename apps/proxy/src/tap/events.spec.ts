import { describe, expect, it } from 'vitest';
import { ipAddressToString, tap } from '@trellis/proto';
import { eventBase, headersOf, requestInitEvent, responseEndEvent, responseInitEvent } from './events.ts';
import type { TapSubject } from './match.ts';

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

describe('tap events', () => {
  it('carries the client identity of a meshed inbound request on the source side', () => {
    const b = eventBase(s, { direction: 'inbound', clientId: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local' });
    expect(b.proxyDirection).toBe(tap.TapEvent_ProxyDirection.INBOUND);
    expect(b.sourceMeta.labels).toEqual({ tls: 'true', client_id: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local' });
    expect(b.source.ip && ipAddressToString(b.source.ip)).toBe('10.244.0.10');
    expect(b.source.port).toBe(42658);
  });

  it('carries the endpoint identity and labels of an outbound request on the destination side', () => {
    const b = eventBase(s, { direction: 'outbound', serverId: 'voting.emojivoto.serviceaccount.identity.linkerd.cluster.local', destinationLabels: s.destinationLabels });
    expect(b.proxyDirection).toBe(tap.TapEvent_ProxyDirection.OUTBOUND);
    expect(b.destinationMeta.labels).toEqual({ deployment: 'voting', tls: 'true', server_id: 'voting.emojivoto.serviceaccount.identity.linkerd.cluster.local' });
    expect(eventBase(s, { direction: 'inbound' }).sourceMeta.labels).toEqual({ tls: 'no_identity' });
  });

  it('encodes request init, response init and response end that decode to the same facts', () => {
    const b = eventBase(s, { direction: 'inbound', clientId: 'x' });
    const round = (e: tap.TapEvent) => tap.TapEvent.decode(tap.TapEvent.encode(e).finish());
    const req = round(requestInitEvent(b, 3, 0, s, headersOf({ 'user-agent': 'curl', accept: ['a', 'b'] })));
    const ri = req.event?.value.event;
    expect(ri?.$case).toBe('requestInit');
    if (ri?.$case !== 'requestInit') return;
    expect(ri.value.id).toEqual({ base: 3, stream: 0n });
    expect(ri.value.authority).toBe('web-svc.emojivoto:80');
    expect(ri.value.path).toBe('/api/list');
    expect(ri.value.method?.type).toEqual({ $case: 'registered', value: 0 });
    expect(ri.value.headers?.headers.map((h) => `${h.name}=${h.value.toString()}`)).toEqual(['user-agent=curl', 'accept=a', 'accept=b']);

    const rsp = round(responseInitEvent(b, 3, 0, 1.092, 200)).event?.value.event;
    expect(rsp?.$case === 'responseInit' && [rsp.value.httpStatus, rsp.value.sinceRequestInit?.nanos]).toEqual([200, 1_092_000]);

    const end = round(responseEndEvent(b, 3, 0, { sinceRequestMs: 2, sinceResponseMs: 0.053, bytes: 4560 }, { grpcStatus: 14 })).event?.value.event;
    expect(end?.$case).toBe('responseEnd');
    if (end?.$case !== 'responseEnd') return;
    expect(end.value.responseBytes).toBe(4560n);
    expect(end.value.sinceResponseInit?.nanos).toBe(53_000);
    expect(end.value.eos?.end).toEqual({ $case: 'grpcStatusCode', value: 14 });
    const reset = round(responseEndEvent(b, 3, 1, { sinceRequestMs: 1, sinceResponseMs: 0, bytes: 0 }, { resetCode: 8 })).event?.value.event;
    expect(reset?.$case === 'responseEnd' && reset.value.eos?.end).toEqual({ $case: 'resetErrorCode', value: 8 });
  });
});
