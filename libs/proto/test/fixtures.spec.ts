// Round trip of the hand-written fixtures: encode, decode, and get the same message back.
import { describe, expect, it } from 'vitest';
import { DestinationProfile, GetDestination, Update } from '../src/gen/destination.ts';
import { CertifyRequest, CertifyResponse } from '../src/gen/identity.ts';
import { PortSpec, Server } from '../src/gen/inbound.ts';
import { OutboundPolicy, TrafficSpec } from '../src/gen/outbound.ts';
import { ObserveRequest, TapEvent } from '../src/gen/tap.ts';
import { Header } from '../src/gen/transport_header.ts';
import * as fixtures from './fixtures.ts';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

function cases<T>(codec: Codec<T>, named: Record<string, T>): [string, Codec<unknown>, unknown][] {
  return Object.entries(named).map(([name, message]) => [name, codec as Codec<unknown>, message]);
}

const all: [string, Codec<unknown>, unknown][] = [
  ...cases(GetDestination, { getDestination: fixtures.getDestination }),
  ...cases(Update, fixtures.updates),
  ...cases(DestinationProfile, { profile: fixtures.profile }),
  ...cases(CertifyRequest, { certifyRequest: fixtures.certifyRequest }),
  ...cases(CertifyResponse, { certifyResponse: fixtures.certifyResponse }),
  ...cases(PortSpec, { portSpec: fixtures.portSpec }),
  ...cases(Server, fixtures.servers),
  ...cases(TrafficSpec, fixtures.trafficSpecs),
  ...cases(OutboundPolicy, fixtures.outboundPolicies),
  ...cases(ObserveRequest, { observeRequest: fixtures.observeRequest }),
  ...cases(TapEvent, fixtures.tapEvents),
  ...cases(Header, fixtures.transportHeaders),
];

describe('hand-written fixtures', () => {
  it.each(all)('%s survives encode and decode unchanged', (_, codec, message) => {
    const bytes = codec.encode(message).finish();
    expect(bytes.length).toBeGreaterThan(0);
    expect(codec.decode(bytes)).toEqual(message);
  });

  it('tests every oneof branch of Update, Server.protocol and OutboundPolicy.protocol', () => {
    expect(Object.values(fixtures.updates).map((u) => u.update?.$case).sort()).toEqual(
      ['add', 'noEndpoints', 'remove'],
    );
    expect(Object.values(fixtures.servers).map((s) => s.protocol?.kind?.$case).sort()).toEqual(
      ['detect', 'grpc', 'http1', 'http2', 'opaque', 'tls'],
    );
    expect(Object.values(fixtures.outboundPolicies).map((p) => p.protocol?.kind?.$case).sort()).toEqual(
      ['detect', 'grpc', 'http1', 'http2', 'opaque', 'tls'],
    );
  });
});
