// Meshed mode in real network namespaces: two pods with proxy-init's rules and Trellis proxies that get their
// certificates from an Identity/Certify server (libs/proto + libs/pki) and their endpoints from a Destination
// stub, both run by the test on the host and reached over a second veth per pod. An unmodified client calls a
// service address; its proxy resolves it to the server pod (identity, h2 hint) and speaks mTLS to the server's
// proxy, which hands the request to the app with the verified l5d-client-id. Opaque transport and direct
// connections to the inbound port go through proxy-init's real rules, so SO_ORIGINAL_DST (not the test) decides
// that they reached the inbound port itself. Needs root (namespaces, iptables, tcpdump), as CI has.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { capture, client, metricsOf, sh, startApp, type Pod } from './netns.ts';
import { linkedPods, meshDir, proxyReady, startMeshedPodProxy, tearDownMesh } from './netns-mesh.ts';
import { tlsFlows } from './pcap.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { connectOpaqueTransport, headerFor, TRANSPORT_HEADER_ALPN } from '../src/tls/transport.ts';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const WEB = 'web.test.serviceaccount.identity.trellis.cluster.local';
/** A meshed client the test itself plays, from the host over the server pod's control link. */
const PEER = 'peer.test.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const SERVICE_IP = '10.96.0.10';
const FQN = 'books.test.svc.cluster.local';
// Host side / pod side of each pod's control link (10.245/16: outside the pod network, which hosts may filter).
const LINKS = { client: ['10.245.92.1', '10.245.92.2'], server: ['10.245.92.5', '10.245.92.6'] } as const;

let pods: { client: Pod; server: Pod };
/** The namespaces made so far, for cleanup. */
const made: Pod[] = [];
let dir: string;
let pki: MeshPki;
let identity: FakeIdentity | undefined;
let dst: StubDestination | undefined;
const children: (ChildProcess | undefined)[] = [];

/** The server pod's endpoint for `port`: HTTP/2-capable, or opaque with opaque transport to the inbound port (4143). */
function endpoint(pod: Pod, port: number, opaque = false): destination.Update {
  return destination.Update.fromPartial({
    update: {
      $case: 'add',
      value: {
        metricLabels: { namespace: 'test', service: 'books' },
        addrs: [
          {
            addr: tcpAddress(pod.ip, port),
            weight: 10000,
            metricLabels: { pod: 'books-0' },
            tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
            protocolHint: opaque ? { protocol: { $case: 'opaque', value: {} }, opaqueTransport: { inboundPort: 4143 } } : { protocol: { $case: 'h2', value: {} } },
          },
        ],
      },
    },
  });
}

beforeAll(async () => {
  pki = await createMeshPki();
  dir = await meshDir('trellis-mesh-netns-');
  pods = await linkedPods(92, 'trx', LINKS);
  made.push(pods.client, pods.server);
  try {
    // Certify over TLS (verified as the identity service's name), Destination over mTLS, as in a cluster.
    identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
    dst = await startStubDestination(pki, { host: '0.0.0.0' });
    for (const port of [8080, 8082, 8083, 3306]) {
      dst.profiles.set(`${SERVICE_IP}:${port}`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: FQN, opaqueProtocol: port === 3306 }));
      dst.services.set(`${FQN}:${port}`, [endpoint(pods.server, port, port === 3306)]);
    }
    children.push(await startApp(pods.server));
    children.push(await startMeshedPodProxy(mesh(), pods.server, BOOKS, LINKS.server));
    children.push(await startMeshedPodProxy(mesh(), pods.client, WEB, LINKS.client));
    for (const p of [pods.client, pods.server]) await proxyReady(p, Date.now() + 20_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
}, 90_000);

function cleanup(): Promise<void> {
  return tearDownMesh(children, [identity, dst], made, dir);
}

/** What each pod's meshed proxy is started with. */
const mesh = () => ({ dir, pki, identity: identity as FakeIdentity, dst: dst as StubDestination });

afterAll(cleanup, 30_000);

describe('two meshed pods', () => {
  it('carries an unmodified HTTP/1 client through both proxies over TLS 1.3 mTLS, with the verified l5d-client-id', async () => {
    const file = join(dir, 'peer.pcap');
    const tap = await capture(pods.server, file, 'tcp port 8080');
    let r: { status: number; body: string };
    try {
      r = await client<{ status: number; body: string }>(pods.client, 'get-spoofed-id', SERVICE_IP, '8080', '/client-id');
    } finally {
      expect(await tap.stop()).toMatch(/[1-9]\d* packets captured/);
    }
    expect(r).toMatchObject({ status: 200, body: `client-id=${WEB}` });
    // On the wire between the pods: one TLS connection, TLS 1.3, SNI the server's identity, nothing in clear.
    const flows = tlsFlows(await readFile(file), 8080);
    expect(flows.map((f) => ({ sni: f.sni, version: f.version }))).toEqual([{ sni: BOOKS, version: 'TLSv1.3' }]);
    const flow = flows[0];
    expect(flow?.serverRecordTypes.slice(2).every((t) => t === 23)).toBe(true);
    expect(flow?.fromServer.includes('client-id=')).toBe(false);
    expect(flow?.fromClient.includes('/client-id')).toBe(false);
  });

  it('reports tls="true" on both sides: client_id inbound, server_id outbound', async () => {
    const srv = pods.server.ip;
    const inbound = await metricsOf(pods.server);
    expect(sample(inbound, 'request_total', `direction="inbound",target_addr="${srv}:8080",target_ip="${srv}",target_port="8080",tls="true",client_id="${WEB}"`)).toBeGreaterThanOrEqual(1);
    expect(sample(inbound, 'tcp_open_total', `direction="inbound",peer="src",target_addr="${srv}:8080",target_ip="${srv}",target_port="8080",tls="true",client_id="${WEB}"`)).toBeGreaterThanOrEqual(1);
    const outbound = await metricsOf(pods.client);
    const labels = `direction="outbound",authority="${FQN}:8080",target_addr="${srv}:8080",target_ip="${srv}",target_port="8080",tls="true",server_id="${BOOKS}",dst_namespace="test",dst_pod="books-0",dst_service="books"`;
    expect(sample(outbound, 'request_total', labels)).toBeGreaterThanOrEqual(1);
    expect(sample(outbound, 'tcp_open_total', `direction="outbound",peer="dst",authority="${FQN}:8080",target_addr="${srv}:8080",target_ip="${srv}",target_port="8080",tls="true",server_id="${BOOKS}"`)).toBeGreaterThanOrEqual(1);
  });

  it('carries gRPC unary and server-streaming calls over mTLS', async () => {
    expect(await client(pods.client, 'grpc', SERVICE_IP, '8082')).toEqual({ echoed: 'hello', stream: ['1', '2', '3', '4', '5'] });
    const srv = pods.server.ip;
    expect(sample(await metricsOf(pods.client), 'response_total', `target_addr="${srv}:8082",target_ip="${srv}",target_port="8082",tls="true",server_id="${BOOKS}"`)).toBeGreaterThanOrEqual(1);
    expect(sample(await metricsOf(pods.server), 'response_total', `target_port="8082",tls="true",client_id="${WEB}"`)).toBeGreaterThanOrEqual(2);
  });

  it('lets a client outside the mesh reach the meshed server in plaintext, without a client identity', async () => {
    // A client-sent l5d-client-id is dropped here too: a plaintext peer has no identity to claim.
    const res = await fetch(`http://${LINKS.server[1]}:8080/client-id`, { headers: { 'l5d-client-id': WEB } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('client-id=-');
    expect(sample(await metricsOf(pods.server), 'request_total', `target_addr="${LINKS.server[1]}:8080",target_ip="${LINKS.server[1]}",target_port="8080",tls="no_identity",no_tls_reason="no_tls_from_remote"`)).toBe(1);
  });

  it('delivers an HTTP/1 request through both proxies with exactly one Host line in the raw bytes the app reads', async () => {
    expect(await client(pods.client, 'get', SERVICE_IP, '8083', '/raw')).toMatchObject({ status: 200, body: JSON.stringify([`host: ${SERVICE_IP}:8083`]) });
  });

  it('carries a server-speaks-first opaque port over opaque transport: the redirected connection to 4143 is the direct stack', async () => {
    const r = await client<{ greeting: string; reply: string }>(pods.client, 'server-first', SERVICE_IP, '3306');
    expect(r).toMatchObject({ greeting: 'J\u0000\u0000\u0000\n8.0.36 mysql-like greeting\n', reply: 'ok:LOGIN' });
    const srv = pods.server.ip;
    const inbound = await metricsOf(pods.server);
    const labels = `direction="inbound",peer="src",target_addr="${srv}:3306",target_ip="${srv}",target_port="3306",tls="true",client_id="${WEB}"`;
    expect(sample(inbound, 'tcp_open_total', labels)).toBe(1);
    // The greeting and reply, counted where the server proxy met the client proxy (mTLS overhead not included).
    expect(sample(inbound, 'tcp_write_bytes_total', labels)).toBe(r.greeting.length + r.reply.length);
    expect(sample(inbound, 'tcp_read_bytes_total', labels)).toBe('LOGIN'.length);
    expect(inbound).not.toContain('TRELLIS_ERR_NOT_REDIRECTED');
    const outbound = await metricsOf(pods.client);
    expect(sample(outbound, 'tcp_open_total', `direction="outbound",peer="dst",authority="${FQN}:3306",target_addr="${srv}:3306",target_ip="${srv}",target_port="3306",tls="true",server_id="${BOOKS}"`)).toBe(1);
  });

  describe('a direct connection to the inbound port, from a meshed peer on the host', () => {
    const podIp = LINKS.server[1];
    const inbound = { addr: `${podIp}:4143`, host: podIp, port: 4143, serverId: BOOKS };
    let tls: MeshTls;
    beforeAll(async () => {
      const creds = await pki.issue(PEER);
      tls = new MeshTls({ current: () => creds });
    });
    const exchange = (s: Socket, text: string) =>
      new Promise<string>((resolve) => {
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('close', () => resolve(out));
        s.on('error', () => undefined);
        s.write(text);
      });
    const errors = async (code: string) => sample(await metricsOf(pods.server), 'trellis_proxy_errors_total', `direction="inbound",protocol="tcp",code="${code}"`) ?? 0;

    it('is forwarded to the port its transport header names, redirected to 4143 or with no NAT record at all', async () => {
      const viaRule = await connectOpaqueTransport(tls, inbound, headerFor(8080));
      expect(await exchange(viaRule, 'GET /direct HTTP/1.1\r\nHost: books\r\nConnection: close\r\n\r\n')).toContain('hello GET /direct');
      // Untracked by conntrack, the connection skips the nat table: SO_ORIGINAL_DST finds no record.
      const rules = [
        ['PREROUTING', '-p', 'tcp', '-s', LINKS.server[0], '--dport', '4143', '-j', 'NOTRACK'],
        ['OUTPUT', '-p', 'tcp', '-d', LINKS.server[0], '--sport', '4143', '-j', 'NOTRACK'],
      ];
      for (const r of rules) await sh('ip', 'netns', 'exec', pods.server.ns, 'iptables', '-t', 'raw', '-A', ...r);
      try {
        const untracked = await connectOpaqueTransport(tls, inbound, headerFor(8080));
        expect(await exchange(untracked, 'GET /untracked HTTP/1.1\r\nHost: books\r\nConnection: close\r\n\r\n')).toContain('hello GET /untracked');
      } finally {
        for (const r of rules) await sh('ip', 'netns', 'exec', pods.server.ns, 'iptables', '-t', 'raw', '-D', ...r);
      }
      const text = await metricsOf(pods.server);
      expect(sample(text, 'tcp_open_total', `direction="inbound",peer="src",target_addr="${podIp}:8080",target_ip="${podIp}",target_port="8080",tls="true",client_id="${PEER}"`)).toBe(2);
      expect(text).not.toContain('TRELLIS_ERR_NOT_REDIRECTED');
    });

    it('is refused without the transport header, and without a client identity', async () => {
      const [noHeader, noIdentity] = [await errors('TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED'), await errors('TRELLIS_ERR_DIRECT_NO_IDENTITY')];
      // mTLS as a mesh identity, but no ALPN and no header.
      expect(await exchange(await tls.connect(inbound), 'GET / HTTP/1.1\r\nHost: books\r\n\r\n')).toBe('');
      // TLS with the ALPN but no client certificate.
      const anonymous = tlsConnect({ host: podIp, port: 4143, servername: BOOKS, ca: pki.trustAnchorsPem, ALPNProtocols: [TRANSPORT_HEADER_ALPN], checkServerIdentity: () => undefined });
      await once(anonymous, 'secureConnect');
      expect(await exchange(anonymous, 'GET / HTTP/1.1\r\nHost: books\r\n\r\n')).toBe('');
      expect(await errors('TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED')).toBe(noHeader + 1);
      expect(await errors('TRELLIS_ERR_DIRECT_NO_IDENTITY')).toBe(noIdentity + 1);
    });
  });
});
