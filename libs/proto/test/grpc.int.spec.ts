// A real grpc-js server and client built from the generated definitions, over loopback. The server
// records the HTTP/2 :path of each call; a raw node:http2 request on the literal path proves that a
// peer which knows only Linkerd's path string (a Linkerd proxy) reaches our handler.
import { connect } from 'node:http2';
import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DestinationClient,
  DestinationService,
  IdentityClient,
  IdentityService,
  InboundServerPoliciesService,
  OutboundPoliciesService,
  TapService,
  identity,
  type DestinationServer,
  type IdentityServer,
} from '../src/index.ts';
import * as fixtures from './fixtures.ts';

const seenPaths: string[] = [];
const seenRequests: unknown[] = [];
let server: Server;
let address: string;

const destinationServer: DestinationServer = {
  get(call) {
    seenPaths.push(call.getPath());
    seenRequests.push(call.request);
    call.write(fixtures.updates.add);
    call.write(fixtures.updates.remove);
    call.write(fixtures.updates.noEndpoints);
    call.end();
  },
  getProfile(call) {
    seenPaths.push(call.getPath());
    call.write(fixtures.profile);
    call.end();
  },
};

const identityServer: IdentityServer = {
  certify(call, callback) {
    seenPaths.push(call.getPath());
    if (call.request.identity !== fixtures.certifyRequest.identity) {
      callback({ code: status.PERMISSION_DENIED, details: `identity ${call.request.identity} not allowed` });
      return;
    }
    seenRequests.push(call.request);
    callback(null, fixtures.certifyResponse);
  },
};

beforeAll(async () => {
  server = new Server();
  server.addService(DestinationService, destinationServer);
  server.addService(IdentityService, identityServer);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

describe('gRPC over the generated definitions', () => {
  it('names every method with Linkerd’s full path', () => {
    expect({
      get: DestinationService.get.path,
      getProfile: DestinationService.getProfile.path,
      certify: IdentityService.certify.path,
      getPort: InboundServerPoliciesService.getPort.path,
      watchPort: InboundServerPoliciesService.watchPort.path,
      outboundGet: OutboundPoliciesService.get.path,
      outboundWatch: OutboundPoliciesService.watch.path,
      observe: TapService.observe.path,
    }).toEqual({
      get: '/io.linkerd.proxy.destination.Destination/Get',
      getProfile: '/io.linkerd.proxy.destination.Destination/GetProfile',
      certify: '/io.linkerd.proxy.identity.Identity/Certify',
      getPort: '/io.linkerd.proxy.inbound.InboundServerPolicies/GetPort',
      watchPort: '/io.linkerd.proxy.inbound.InboundServerPolicies/WatchPort',
      outboundGet: '/io.linkerd.proxy.outbound.OutboundPolicies/Get',
      outboundWatch: '/io.linkerd.proxy.outbound.OutboundPolicies/Watch',
      observe: '/io.linkerd.proxy.tap.Tap/Observe',
    });
    expect([DestinationService.get.responseStream, IdentityService.certify.responseStream]).toEqual([true, false]);
    expect(InboundServerPoliciesService.watchPort.responseStream).toBe(true);
    expect(OutboundPoliciesService.watch.responseStream).toBe(true);
  });

  it('streams Destination/Get updates to the client in order', async () => {
    const client = new DestinationClient(address, credentials.createInsecure());
    try {
      const received = [];
      for await (const update of client.get(fixtures.getDestination)) received.push(update);
      expect(received).toEqual([fixtures.updates.add, fixtures.updates.remove, fixtures.updates.noEndpoints]);
      expect(seenPaths).toContain('/io.linkerd.proxy.destination.Destination/Get');
      expect(seenRequests).toContainEqual(fixtures.getDestination);
    } finally {
      client.close();
    }
  });

  it('streams Destination/GetProfile', async () => {
    const client = new DestinationClient(address, credentials.createInsecure());
    try {
      const received = [];
      for await (const profile of client.getProfile(fixtures.getDestination)) received.push(profile);
      expect(received).toEqual([fixtures.profile]);
      expect(seenPaths).toContain('/io.linkerd.proxy.destination.Destination/GetProfile');
    } finally {
      client.close();
    }
  });

  it('answers a unary Identity/Certify', async () => {
    const client = new IdentityClient(address, credentials.createInsecure());
    try {
      const response = await new Promise((resolve, reject) => {
        client.certify(fixtures.certifyRequest, (error, value) => (error ? reject(error) : resolve(value)));
      });
      expect(response).toEqual(fixtures.certifyResponse);
      expect(seenPaths).toContain('/io.linkerd.proxy.identity.Identity/Certify');
      expect(seenRequests).toContainEqual(fixtures.certifyRequest);
    } finally {
      client.close();
    }
  });

  it('carries a handler’s status code back to the client', async () => {
    const client = new IdentityClient(address, credentials.createInsecure());
    try {
      const error = await new Promise<ServiceError>((resolve, reject) => {
        client.certify({ ...fixtures.certifyRequest, identity: 'other' }, (e, value) =>
          e ? resolve(e) : reject(new Error(`unexpected ${String(value)}`)),
        );
      });
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toBe('identity other not allowed');
    } finally {
      client.close();
    }
  });

  it('serves Certify to a raw HTTP/2 request on the literal Linkerd path', async () => {
    const body = identity.CertifyRequest.encode(fixtures.certifyRequest).finish();
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt8(0, 0); // not compressed
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const session = connect(`http://${address}`);
    try {
      type Reply = { data: Buffer; grpcStatus: string | undefined };
      const { data, grpcStatus } = await new Promise<Reply>((resolve, reject) => {
        const request = session.request({
          ':method': 'POST',
          ':path': '/io.linkerd.proxy.identity.Identity/Certify',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        const chunks: Buffer[] = [];
        let trailerStatus: string | undefined;
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('trailers', (trailers) => {
          trailerStatus = String(trailers['grpc-status']);
        });
        request.on('end', () => resolve({ data: Buffer.concat(chunks), grpcStatus: trailerStatus }));
        request.on('error', reject);
        request.end(frame);
      });
      expect(grpcStatus).toBe('0');
      expect(data.readUInt32BE(1)).toBe(data.length - 5);
      expect(identity.CertifyResponse.decode(data.subarray(5))).toEqual(fixtures.certifyResponse);
    } finally {
      session.close();
    }
  });
});
