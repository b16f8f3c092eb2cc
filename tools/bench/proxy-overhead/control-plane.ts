// The control plane of the benchmark's meshed paths, one process per pod namespace on 127.0.0.1 (the proxies
// speak plaintext to a loopback control-plane address): Identity/Certify signing real CSRs with libs/pki's
// CertificateAuthority (the issuer the bench generated), a Destination whose GetProfile/Get answers are
// read from a JSON file (the meshed service's endpoint with its identity and the h2 hint), and the policy
// API linkerd2-proxy cannot run without, answered as Linkerd's policy controller answers a pod with no Server
// and a Service with no routes: InboundServerPolicies gives every port the default server (protocol
// detection, the default route, all-unauthenticated from anywhere) and OutboundPolicies gives a profiled
// ip:port the Service's default policy (detect; http1/http2 default route to a peak-EWMA balancer over
// Destination.Get of fqn:port). Unknown paths get NotFound, as destination answers for unknown Services.
//
//   node control-plane.ts --listen 127.0.0.1:8086 --pki <dir with crt.pem key.pem ca-bundle.crt> --tokens <json>
//     --destination <json>
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { CertificateAuthority, parseCsr } from '@trellis/pki';
import {
  DestinationService,
  IdentityService,
  InboundServerPoliciesService,
  OutboundPoliciesService,
  destination,
  durationFromMillis,
  ipAddressToString,
  ipNetworkFromString,
  tcpAddress,
  timestampFromDate,
  type DestinationServer,
  type IdentityServer,
  type InboundServerPoliciesServer,
  type OutboundPoliciesServer,
  type inbound,
  type metadata,
  type outbound,
} from '@trellis/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What the bench writes for the destination: the service name a profile lookup ("ip:port") resolves to, and
 * each service's ("fqn:port") endpoints, all meshed with the h2 hint.
 */
export interface DestinationScript {
  readonly profiles: Record<string, string>;
  readonly services: Record<string, { readonly ip: string; readonly port: number; readonly identity: string }[]>;
}

const { values: args } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:8086' },
    pki: { type: 'string' },
    // {"<token>": "<identity>"}: the tokens Certify accepts and the identity each may request.
    tokens: { type: 'string' },
    destination: { type: 'string' },
  },
});
if (!args.pki || !args.tokens || !args.destination) throw new Error('--pki, --tokens and --destination are required');
const pkiDir = args.pki;
const authority = CertificateAuthority.fromPem({
  certificatePem: readFileSync(join(pkiDir, 'crt.pem'), 'utf8'),
  privateKeyPem: readFileSync(join(pkiDir, 'key.pem'), 'utf8'),
  trustAnchorsPem: readFileSync(join(pkiDir, 'ca-bundle.crt'), 'utf8'),
});
const accounts = new Map(Object.entries(JSON.parse(readFileSync(args.tokens, 'utf8')) as Record<string, string>));
const script = JSON.parse(readFileSync(args.destination, 'utf8')) as DestinationScript;
const LIFETIME_MS = 24 * 3_600_000;

const identityImpl: IdentityServer = {
  certify(call, callback) {
    const req = call.request;
    if (accounts.get(req.token.toString()) !== req.identity) return callback({ code: status.FAILED_PRECONDITION, details: 'requested identity did not match provided token' });
    try {
      const issued = authority.issue(parseCsr(req.certificateSigningRequest), req.identity, { lifetimeMs: LIFETIME_MS, clockSkewMs: 10_000 });
      callback(null, {
        leafCertificate: Buffer.from(issued.der),
        intermediateCertificates: authority.chain.map((c) => Buffer.from(c)),
        validUntil: timestampFromDate(issued.notAfter),
      });
    } catch (err) {
      callback({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  },
};

const destinationImpl: DestinationServer = {
  get(call) {
    const endpoints = script.services[call.request.path];
    if (!endpoints) return void call.emit('error', { code: status.NOT_FOUND, details: `Service ${call.request.path} not found` });
    const addrs = endpoints.map((e) => ({
      addr: tcpAddress(e.ip, e.port),
      weight: 10000,
      tlsIdentity: { strategy: { $case: 'dnsLikeIdentity' as const, value: { name: e.identity } } },
      protocolHint: { protocol: { $case: 'h2' as const, value: {} } },
    }));
    call.write(destination.Update.fromPartial({ update: { $case: 'add', value: { metricLabels: { namespace: 'bench' }, addrs } } }));
  },
  getProfile(call) {
    const fqn = script.profiles[call.request.path];
    if (!fqn) return void call.emit('error', { code: status.NOT_FOUND, details: 'not found' });
    call.write(destination.DestinationProfile.fromPartial({ fullyQualifiedName: fqn }));
  },
};

const defaultMeta = (name: string): metadata.Metadata => ({ kind: { $case: 'default', value: name } });
const PREFIX_ALL = { path: { kind: { $case: 'prefix' as const, value: '/' } }, headers: [], queryParams: [], method: undefined };
const DETECT_TIMEOUT = durationFromMillis(10_000);

/** The default inbound server of a port (Linkerd's all-unauthenticated default policy). */
const defaultServer: inbound.Server = {
  protocol: {
    kind: {
      $case: 'detect',
      value: {
        timeout: DETECT_TIMEOUT,
        httpRoutes: [{ metadata: defaultMeta('default'), hosts: [], authorizations: [], rules: [{ matches: [PREFIX_ALL], filters: [] }] }],
        httpLocalRateLimit: undefined,
      },
    },
  },
  serverIps: [],
  authorizations: [
    {
      networks: ['0.0.0.0/0', '::/0'].map((c) => ({ net: ipNetworkFromString(c), except: [] })),
      authentication: { permit: { $case: 'unauthenticated', value: {} } },
      labels: { group: '', kind: 'default', name: 'all-unauthenticated' },
      metadata: defaultMeta('all-unauthenticated'),
    },
  ],
  labels: { group: '', kind: 'default', name: 'all-unauthenticated' },
};

/** A Service port's default outbound policy: every HTTP request to the balancer over its endpoints. */
function servicePolicy(fqn: string, port: number): outbound.OutboundPolicy {
  const [name = '', namespace = ''] = fqn.split('.');
  const meta: metadata.Metadata = { kind: { $case: 'resource', value: { group: 'core', kind: 'Service', name, namespace, section: '', port } } };
  const backend: outbound.Backend = {
    metadata: meta,
    queue: { capacity: 100, failfastTimeout: durationFromMillis(3_000) },
    kind: {
      $case: 'balancer',
      value: {
        discovery: { kind: { $case: 'dst', value: { path: `${fqn}:${port}` } } },
        load: { $case: 'peakEwma', value: { defaultRtt: durationFromMillis(30), decay: durationFromMillis(10_000) } },
      },
    },
  };
  const firstAvailable = { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend, filters: [], requestTimeout: undefined }] } } };
  const http: outbound.HttpRoute[] = [
    {
      metadata: defaultMeta('http'),
      hosts: [],
      rules: [{ matches: [PREFIX_ALL], filters: [], backends: firstAvailable, requestTimeout: undefined, timeouts: undefined, retry: undefined, allowL5dRequestHeaders: false }],
    },
  ];
  const opaque: outbound.OpaqueRoute = { metadata: defaultMeta('opaq'), rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend, filters: [] }] } } }, filters: [] }] };
  return {
    metadata: meta,
    protocol: {
      kind: {
        $case: 'detect',
        value: { timeout: DETECT_TIMEOUT, opaque: { routes: [opaque] }, http1: { routes: http, failureAccrual: undefined }, http2: { routes: http, failureAccrual: undefined } },
      },
    },
  };
}

function outboundPolicyFor(spec: outbound.TrafficSpec): outbound.OutboundPolicy | undefined {
  const t = spec.target;
  if (t?.$case !== 'addr' || !t.value.ip) return undefined;
  const fqn = script.profiles[`${ipAddressToString(t.value.ip)}:${t.value.port}`];
  return fqn === undefined ? undefined : servicePolicy(fqn, t.value.port);
}

const inboundImpl: InboundServerPoliciesServer = {
  getPort(_call, callback) {
    callback(null, defaultServer);
  },
  // Open until the proxy hangs up: a closed watch would make it retry.
  watchPort(call) {
    call.write(defaultServer);
  },
};

const outboundImpl: OutboundPoliciesServer = {
  get(call, callback) {
    const p = outboundPolicyFor(call.request);
    if (!p) return callback({ code: status.NOT_FOUND, details: 'no policy' });
    callback(null, p);
  },
  watch(call) {
    const p = outboundPolicyFor(call.request);
    if (!p) return void call.emit('error', { code: status.NOT_FOUND, details: 'no policy' });
    call.write(p);
  },
};

const server = new Server();
server.addService(InboundServerPoliciesService, inboundImpl);
server.addService(OutboundPoliciesService, outboundImpl);
server.addService(IdentityService, identityImpl);
server.addService(DestinationService, destinationImpl);
await new Promise<number>((resolve, reject) => server.bindAsync(args.listen, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
process.stdout.write(`control plane listening on ${args.listen}\n`);
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
