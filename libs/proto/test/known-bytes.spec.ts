// Encodings compared with bytes written out by hand from the protobuf encoding rules (tag = field
// number << 3 | wire type; VARINT 0, I64 1, LEN 2, I32 5; little-endian fixed-width values). Each
// length and tag below was worked out by hand, so these prove field numbers and wire types against the
// reference tables rather than against our own generated code.
import { describe, expect, it } from 'vitest';
import { GetDestination, Update } from '../src/gen/destination.ts';
import { CertifyRequest, CertifyResponse } from '../src/gen/identity.ts';
import { TrafficSpec } from '../src/gen/outbound.ts';
import { Header } from '../src/gen/transport_header.ts';
import { ipAddressFromString } from '../src/ip.ts';
import { decodeTransportHeader, encodeTransportHeader } from '../src/transport-header.ts';

/** Bytes from hex pairs and quoted ASCII runs, e.g. bytes('0A 03', 'abc'). */
function bytes(...parts: (string | number[])[]): Buffer {
  const out: number[] = [];
  for (const part of parts) {
    if (Array.isArray(part)) out.push(...part);
    else if (/^[0-9A-F]{2}( [0-9A-F]{2})*$/.test(part)) out.push(...part.split(' ').map((h) => parseInt(h, 16)));
    else out.push(...Buffer.from(part, 'ascii'));
  }
  return Buffer.from(out);
}

const identityName = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local'; // 59 = 0x3B bytes

describe('known bytes', () => {
  it('Update.add with one IPv4 and one IPv6 endpoint encodes to the hand-written bytes', () => {
    const update = Update.fromPartial({
      update: {
        $case: 'add',
        value: {
          addrs: [
            {
              addr: { ip: ipAddressFromString('10.0.0.1'), port: 8080 },
              weight: 10000,
              tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: identityName } } },
              protocolHint: { protocol: { $case: 'h2', value: {} }, opaqueTransport: { inboundPort: 4143 } },
            },
            { addr: { ip: ipAddressFromString('fd00::1'), port: 8080 }, weight: 10000 },
          ],
          metricLabels: { namespace: 'emojivoto' },
        },
      },
    });
    const expected = bytes(
      '0A 93 01', //                      Update.add (1, LEN) 147 bytes
      '0A 59', //                           WeightedAddrSet.addrs[0] (1, LEN) 89
      '0A 0A', //                             WeightedAddr.addr (1, LEN) 10
      '0A 05', //                               TcpAddress.ip (1, LEN) 5
      '0D 01 00 00 0A', //                        IPAddress.ipv4 (1, I32) 0x0A000001, little-endian
      '10 90 3F', //                            TcpAddress.port (2, VARINT) 8080
      '18 90 4E', //                          WeightedAddr.weight (3, VARINT) 10000
      '2A 3F', //                             WeightedAddr.tls_identity (5, LEN) 63
      '0A 3D', //                               TlsIdentity.dns_like_identity (1, LEN) 61
      '0A 3B', //                                 DnsLikeIdentity.name (1, LEN) 59
      identityName,
      '32 07', //                             WeightedAddr.protocol_hint (6, LEN) 7
      '0A 00', //                               ProtocolHint.h2 (1, LEN) empty
      '12 03', //                               ProtocolHint.opaque_transport (2, LEN) 3
      '08 AF 20', //                              OpaqueTransport.inbound_port (1, VARINT) 4143
      '0A 1E', //                           WeightedAddrSet.addrs[1] (1, LEN) 30
      '0A 19', //                             WeightedAddr.addr (1, LEN) 25
      '0A 14', //                               TcpAddress.ip (1, LEN) 20
      '12 12', //                                 IPAddress.ipv6 (2, LEN) 18
      '09 00 00 00 00 00 00 00 FD', //              IPv6.first (1, I64) 0xFD00000000000000, little-endian
      '11 01 00 00 00 00 00 00 00', //              IPv6.last (2, I64) 1
      '10 90 3F', //                            TcpAddress.port (2, VARINT) 8080
      '18 90 4E', //                          WeightedAddr.weight (3, VARINT) 10000
      '12 16', //                           WeightedAddrSet.metric_labels (2, LEN) 22: one map entry
      '0A 09', //                             key (1, LEN) 9
      'namespace',
      '12 09', //                             value (2, LEN) 9
      'emojivoto',
    );
    expect(Buffer.from(Update.encode(update).finish()).toString('hex')).toBe(expected.toString('hex'));
    expect(Update.decode(expected)).toEqual(update);
  });

  it('CertifyRequest encodes identity, token and DER CSR as fields 1, 2 and 3', () => {
    const request = CertifyRequest.fromPartial({
      identity: identityName,
      token: Buffer.from('eyJhbGciOi', 'ascii'),
      certificateSigningRequest: Buffer.from([0x30, 0x82, 0x01, 0x0a]),
    });
    const expected = bytes(
      '0A 3B', //        CertifyRequest.identity (1, LEN) 59
      identityName,
      '12 0A', //        CertifyRequest.token (2, LEN) 10
      'eyJhbGciOi',
      '1A 04', //        CertifyRequest.certificate_signing_request (3, LEN) 4
      '30 82 01 0A', //    the start of a DER SEQUENCE
    );
    expect(Buffer.from(CertifyRequest.encode(request).finish()).toString('hex')).toBe(expected.toString('hex'));
    expect(CertifyRequest.decode(expected)).toEqual(request);
  });

  it('CertifyResponse encodes the leaf, two intermediates and valid_until as a Timestamp', () => {
    const response = CertifyResponse.fromPartial({
      leafCertificate: Buffer.from([0x30, 0x01, 0x00]),
      intermediateCertificates: [Buffer.from([0x30, 0x00]), Buffer.from([0x30, 0x01])],
      validUntil: { seconds: 1_800_000_000n, nanos: 0 },
    });
    const expected = bytes(
      '0A 03 30 01 00', //         leaf_certificate (1, LEN) 3
      '12 02 30 00', //            intermediate_certificates[0] (2, LEN) 2
      '12 02 30 01', //            intermediate_certificates[1] (2, LEN) 2
      '1A 06', //                  valid_until (3, LEN) 6
      '08 80 A4 A7 DA 06', //        Timestamp.seconds (1, VARINT) 1800000000; nanos 0 is omitted
    );
    expect(Buffer.from(CertifyResponse.encode(response).finish()).toString('hex')).toBe(expected.toString('hex'));
    expect(CertifyResponse.decode(expected)).toEqual(response);
  });

  it('GetDestination leaves an empty scheme off the wire and carries path and context token', () => {
    const request = GetDestination.fromPartial({
      path: 'web.emojivoto.svc.cluster.local:80',
      contextToken: '{"ns":"emojivoto"}',
    });
    const expected = bytes(
      '12 22', //   GetDestination.path (2, LEN) 34
      'web.emojivoto.svc.cluster.local:80',
      '1A 12', //   GetDestination.context_token (3, LEN) 18
      '{"ns":"emojivoto"}',
    );
    expect(Buffer.from(GetDestination.encode(request).finish()).toString('hex')).toBe(expected.toString('hex'));
    expect(GetDestination.decode(expected)).toEqual(request);
  });

  it('TrafficSpec puts the authority target in field 3 of the oneof', () => {
    const spec = TrafficSpec.fromPartial({
      sourceWorkload: '{"ns":"emojivoto","pod":"web-0"}',
      target: { $case: 'authority', value: 'web.emojivoto.svc.cluster.local:80' },
    });
    const expected = bytes(
      '0A 20', //   TrafficSpec.source_workload (1, LEN) 32
      '{"ns":"emojivoto","pod":"web-0"}',
      '1A 22', //   TrafficSpec.authority (3, LEN) 34
      'web.emojivoto.svc.cluster.local:80',
    );
    expect(Buffer.from(TrafficSpec.encode(spec).finish()).toString('hex')).toBe(expected.toString('hex'));
    expect(TrafficSpec.decode(expected)).toEqual(spec);
  });

  it('a transport header is the preface, a big-endian length and the protobuf Header', () => {
    const header = Header.fromPartial({
      port: 8080,
      name: 'web.emojivoto.svc.cluster.local',
      sessionProtocol: { kind: { $case: 'http2', value: {} } },
    });
    const expected = bytes(
      'transport.l5d.io/v1', //     preface: 19 ASCII bytes ...
      '0D 0A 0D 0A', //             ... then CR LF CR LF
      '00 00 00 28', //             length 40, big-endian u32
      '08 90 3F', //                Header.port (1, VARINT) 8080
      '12 1F', //                   Header.name (2, LEN) 31
      'web.emojivoto.svc.cluster.local',
      '1A 02', //                   Header.session_protocol (3, LEN) 2
      '12 00', //                     SessionProtocol.http2 (2, LEN) empty
    );
    expect(encodeTransportHeader(header).toString('hex')).toBe(expected.toString('hex'));
    expect(decodeTransportHeader(expected)).toEqual({ header, length: 67 });
  });
});
