// Hand-written messages shaped like what Trellis' control plane and proxies exchange. Between them they
// take every oneof branch of the service-level messages, and use maps, repeated fields and deep nesting.
import { DestinationProfile, GetDestination, Update, WeightedAddr } from '../src/gen/destination.ts';
import { CertifyRequest, CertifyResponse } from '../src/gen/identity.ts';
import { PortSpec, Server } from '../src/gen/inbound.ts';
import { Backend, FailureAccrual, OutboundPolicy, TrafficSpec } from '../src/gen/outbound.ts';
import { ObserveRequest, TapEvent, TapEvent_ProxyDirection } from '../src/gen/tap.ts';
import { Header } from '../src/gen/transport_header.ts';
import { HttpMethod_Registered, Scheme_Registered } from '../src/gen/http_types.ts';
import { ipAddressFromString, ipNetworkFromString } from '../src/ip.ts';
import { tcpAddress } from '../src/tcp-address.ts';
import { durationFromMillis, timestampFromDate } from '../src/time.ts';

const serviceAccountIdentity = (sa: string, ns: string): string =>
  `${sa}.${ns}.serviceaccount.identity.trellis.cluster.local`;

const service = (name: string, port: number) => ({
  kind: { $case: 'resource' as const, value: { group: 'core', kind: 'Service', name, namespace: 'emojivoto', section: '', port } },
});

export const endpoint = WeightedAddr.fromPartial({
  addr: tcpAddress('10.42.0.7', 8080),
  weight: 10000,
  metricLabels: { pod: 'web-5d9f8-abcde', pod_template_hash: '5d9f8', serviceaccount: 'web' },
  tlsIdentity: {
    strategy: { $case: 'dnsLikeIdentity', value: { name: serviceAccountIdentity('web', 'emojivoto') } },
    serverName: { name: serviceAccountIdentity('web', 'emojivoto') },
  },
  protocolHint: { protocol: { $case: 'h2', value: {} }, opaqueTransport: { inboundPort: 4143 } },
  authorityOverride: { authorityOverride: 'web.emojivoto.svc.cluster.local:8080' },
  http2: {
    flowControl: { initialConnectionWindowSize: 1 << 20, initialStreamWindowSize: 1 << 16, adaptiveFlowControl: true },
    keepAlive: { interval: durationFromMillis(10_000), timeout: durationFromMillis(3_000), whileIdle: true },
    internals: { maxConcurrentResetStreams: 20, maxFrameSize: 16_384, maxSendBufSize: 409_600 },
  },
  resourceRef: { kind: { $case: 'resource', value: { group: 'core', kind: 'Pod', name: 'web-5d9f8-abcde', namespace: 'emojivoto' } } },
});

export const getDestination = GetDestination.fromPartial({
  scheme: '',
  path: 'web-svc.emojivoto.svc.cluster.local:80',
  contextToken: '{"ns":"emojivoto","nodeName":"node-1","pod":"vote-bot-0"}',
});

export const updates = {
  add: Update.fromPartial({
    update: {
      $case: 'add',
      value: {
        addrs: [
          endpoint,
          {
            addr: tcpAddress('fd00:10:42::8', 8080),
            weight: 10000,
            tlsIdentity: { strategy: { $case: 'uriLikeIdentity', value: { uri: 'spiffe://cluster.local/ns/emojivoto/sa/web' } } },
            protocolHint: { protocol: { $case: 'opaque', value: {} } },
          },
        ],
        metricLabels: { namespace: 'emojivoto', service: 'web-svc' },
      },
    },
  }),
  remove: Update.fromPartial({ update: { $case: 'remove', value: { addrs: [tcpAddress('10.42.0.7', 8080), tcpAddress('fd00:10:42::8', 8080)] } } }),
  noEndpoints: Update.fromPartial({ update: { $case: 'noEndpoints', value: { exists: true } } }),
};

export const profile = DestinationProfile.fromPartial({
  routes: [
    {
      condition: {
        match: {
          $case: 'all',
          value: {
            matches: [
              { match: { $case: 'path', value: { regex: '/api/vote' } } },
              { match: { $case: 'method', value: { type: { $case: 'registered', value: HttpMethod_Registered.POST } } } },
              { match: { $case: 'not', value: { match: { $case: 'method', value: { type: { $case: 'unregistered', value: 'PURGE' } } } } } },
              { match: { $case: 'any', value: { matches: [{ match: { $case: 'path', value: { regex: '/api/.*' } } }] } } },
            ],
          },
        },
      },
      responseClasses: [
        {
          condition: {
            match: {
              $case: 'any',
              value: {
                matches: [
                  { match: { $case: 'status', value: { min: 500, max: 599 } } },
                  { match: { $case: 'not', value: { match: { $case: 'all', value: { matches: [] } } } } },
                ],
              },
            },
          },
          isFailure: true,
        },
      ],
      metricsLabels: { route: 'POST /api/vote' },
      isRetryable: true,
      timeout: durationFromMillis(250),
    },
  ],
  retryBudget: { retryRatio: 0.25 /* exact as a float */, minRetriesPerSecond: 10, ttl: durationFromMillis(10_000) },
  dstOverrides: [
    { authority: 'web-svc-v2.emojivoto.svc.cluster.local:80', weight: 900, backendRef: service('web-svc-v2', 80) },
    { authority: 'web-svc.emojivoto.svc.cluster.local:80', weight: 100 },
  ],
  opaqueProtocol: false,
  fullyQualifiedName: 'web-svc.emojivoto.svc.cluster.local',
  endpoint,
  parentRef: service('web-svc', 80),
  profileRef: { kind: { $case: 'resource', value: { group: 'linkerd.io', kind: 'ServiceProfile', name: 'web-svc.emojivoto.svc.cluster.local', namespace: 'emojivoto' } } },
});

export const certifyRequest = CertifyRequest.fromPartial({
  identity: serviceAccountIdentity('web', 'emojivoto'),
  token: Buffer.from('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'),
  certificateSigningRequest: Buffer.from('3082010a0201', 'hex'),
});

export const certifyResponse = CertifyResponse.fromPartial({
  leafCertificate: Buffer.from('308201aa', 'hex'),
  intermediateCertificates: [Buffer.from('30820155', 'hex'), Buffer.from('30820166', 'hex')],
  validUntil: timestampFromDate(new Date('2026-11-24T01:00:00Z')),
});

const allNetworks = [{ net: ipNetworkFromString('0.0.0.0/0'), except: [] }, { net: ipNetworkFromString('::/0'), except: [ipNetworkFromString('fd00:dead::/32')] }];
const rateLimit = {
  metadata: { kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind: 'HTTPLocalRateLimitPolicy', name: 'web-rl', namespace: 'emojivoto' } } },
  total: { requestsPerSecond: 100 },
  identity: { requestsPerSecond: 20 },
  overrides: [{ limit: { requestsPerSecond: 50 }, clients: { identities: [{ name: serviceAccountIdentity('vote-bot', 'emojivoto') }] } }],
};
const inboundHttpRoute = {
  metadata: { kind: { $case: 'default' as const, value: 'default' } },
  hosts: [{ match: { $case: 'exact' as const, value: 'web.example.com' } }, { match: { $case: 'suffix' as const, value: { reverseLabels: ['com', 'example'] } } }],
  authorizations: [],
  rules: [
    {
      matches: [
        {
          path: { kind: { $case: 'prefix' as const, value: '/api' } },
          headers: [
            { name: 'x-canary', value: { $case: 'exact' as const, value: Buffer.from('1') } },
            { name: 'x-user', value: { $case: 'regex' as const, value: '^bot-.*' } },
          ],
          queryParams: [
            { name: 'debug', value: { $case: 'exact' as const, value: 'true' } },
            { name: 'id', value: { $case: 'regex' as const, value: '[0-9]+' } },
          ],
          method: { type: { $case: 'registered' as const, value: HttpMethod_Registered.GET } },
        },
        { path: { kind: { $case: 'exact' as const, value: '/' } } },
        { path: { kind: { $case: 'regex' as const, value: '/v[0-9]/.*' } } },
      ],
      filters: [
        { kind: { $case: 'failureInjector' as const, value: { status: 503, message: 'injected', ratio: { numerator: 1, denominator: 10 } } } },
        { kind: { $case: 'requestHeaderModifier' as const, value: { add: { headers: [{ name: 'x-a', value: Buffer.from('1') }] }, set: { headers: [] }, remove: ['x-b'] } } },
        {
          kind: {
            $case: 'redirect' as const,
            value: { scheme: { type: { $case: 'registered' as const, value: Scheme_Registered.HTTPS } }, host: 'example.com', path: { replace: { $case: 'prefix' as const, value: '/v2' } }, port: 443, status: 302 },
          },
        },
        { kind: { $case: 'redirect' as const, value: { path: { replace: { $case: 'full' as const, value: '/moved' } }, status: 301 } } },
      ],
    },
  ],
};
const inboundGrpcRoute = {
  metadata: { kind: { $case: 'resource' as const, value: { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', name: 'emoji', namespace: 'emojivoto' } } },
  hosts: [],
  authorizations: [],
  rules: [
    {
      matches: [{ rpc: { service: 'emojivoto.v1.EmojiService', method: 'ListAll' }, headers: [{ name: 'x-env', value: { $case: 'exact' as const, value: Buffer.from('prod') } }] }],
      filters: [
        { kind: { $case: 'failureInjector' as const, value: { code: 14, message: 'unavailable', ratio: { numerator: 1, denominator: 100 } } } },
        { kind: { $case: 'requestHeaderModifier' as const, value: { add: { headers: [] }, remove: ['x-debug'] } } },
      ],
    },
  ],
};

const server = (protocol: Parameters<typeof Server.fromPartial>[0]['protocol']) =>
  Server.fromPartial({
    protocol,
    serverIps: [ipAddressFromString('10.42.0.7'), ipAddressFromString('fd00:10:42::7')],
    authorizations: [
      {
        networks: allNetworks,
        authentication: { permit: { $case: 'unauthenticated', value: {} } },
        labels: { group: '', kind: 'default', name: 'all-unauthenticated' },
        metadata: { kind: { $case: 'default', value: 'all-unauthenticated' } },
      },
      {
        networks: allNetworks,
        authentication: { permit: { $case: 'meshTLS', value: { clients: { $case: 'unauthenticated', value: {} } } } },
        labels: {},
        metadata: { kind: { $case: 'default', value: 'all-authenticated' } },
      },
      {
        networks: [{ net: ipNetworkFromString('10.42.0.0/16'), except: [ipNetworkFromString('10.42.9.0/24')] }],
        authentication: {
          permit: {
            $case: 'meshTLS',
            value: { clients: { $case: 'identities', value: { identities: [{ name: serviceAccountIdentity('vote-bot', 'emojivoto') }], suffixes: [{ parts: ['emojivoto', 'serviceaccount'] }, { parts: [] }] } } },
          },
        },
        labels: { group: 'policy.linkerd.io', kind: 'AuthorizationPolicy', name: 'web-authz' },
        metadata: { kind: { $case: 'resource', value: { group: 'policy.linkerd.io', kind: 'AuthorizationPolicy', name: 'web-authz', namespace: 'emojivoto' } } },
      },
    ],
    labels: { group: 'policy.linkerd.io', kind: 'Server', name: 'web-http' },
  });

export const portSpec = PortSpec.fromPartial({ workload: '{"ns":"emojivoto","pod":"web-5d9f8-abcde"}', port: 8080 });

export const servers = {
  detect: server({ kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), httpRoutes: [inboundHttpRoute], httpLocalRateLimit: rateLimit } } }),
  opaque: server({ kind: { $case: 'opaque', value: {} } }),
  tls: server({ kind: { $case: 'tls', value: {} } }),
  http1: server({ kind: { $case: 'http1', value: { routes: [inboundHttpRoute], localRateLimit: rateLimit } } }),
  http2: server({ kind: { $case: 'http2', value: { routes: [inboundHttpRoute], localRateLimit: rateLimit } } }),
  grpc: server({ kind: { $case: 'grpc', value: { routes: [inboundGrpcRoute] } } }),
};

const backoff = { minBackoff: durationFromMillis(1_000), maxBackoff: durationFromMillis(60_000), jitterRatio: 0.5, respectRetryAfterHint: true };
const balancer = (path: string, load: 'peakEwma' | 'penaltyPeakEwma') =>
  Backend.fromPartial({
    metadata: service('web-svc', 80),
    kind: {
      $case: 'balancer',
      value: {
        discovery: { kind: { $case: 'dst', value: { path } } },
        load:
          load === 'peakEwma'
            ? { $case: 'peakEwma', value: { defaultRtt: durationFromMillis(30), decay: durationFromMillis(10_000) } }
            : {
                $case: 'penaltyPeakEwma',
                value: {
                  defaultRtt: durationFromMillis(30),
                  decay: durationFromMillis(10_000),
                  penalty: durationFromMillis(5_000),
                  maxRetryAfter: durationFromMillis(300_000),
                  penaltyDecay: durationFromMillis(10_000),
                },
              },
      },
    },
    queue: { capacity: 100, failfastTimeout: durationFromMillis(3_000) },
  });
const forward = Backend.fromPartial({ metadata: { kind: { $case: 'default', value: 'egress-fallback' } }, kind: { $case: 'forward', value: endpoint }, queue: { capacity: 100 } });
const accrual = {
  consecutive: FailureAccrual.fromPartial({ kind: { $case: 'consecutiveFailures', value: { maxFailures: 7, backoff } }, ejection: { minReadyEndpoints: 1 } }),
  unified: FailureAccrual.fromPartial({
    kind: { $case: 'unified', value: { successRateThreshold: 0.9, decay: durationFromMillis(30_000), minRequests: 20, maxConsecutiveFailures: 5, backoff } },
  }),
};
const timeouts = { response: durationFromMillis(1_000), request: durationFromMillis(5_000), idle: durationFromMillis(60_000) };

const outboundHttpRoute = {
  metadata: { kind: { $case: 'resource' as const, value: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web-split', namespace: 'emojivoto' } } },
  hosts: inboundHttpRoute.hosts,
  rules: [
    {
      matches: inboundHttpRoute.rules[0]?.matches ?? [],
      filters: [
        ...(inboundHttpRoute.rules[0]?.filters ?? []),
        { kind: { $case: 'responseHeaderModifier' as const, value: { add: { headers: [] }, set: { headers: [{ name: 'x-served-by', value: Buffer.from('trellis') }] }, remove: [] } } },
      ],
      backends: {
        kind: {
          $case: 'randomAvailable' as const,
          value: {
            backends: [
              { backend: { backend: balancer('web-svc.emojivoto.svc.cluster.local:80', 'peakEwma'), filters: [], requestTimeout: durationFromMillis(1_000) }, weight: 90 },
              { backend: { backend: balancer('web-svc-v2.emojivoto.svc.cluster.local:80', 'penaltyPeakEwma'), filters: [] }, weight: 10 },
            ],
          },
        },
      },
      requestTimeout: timeouts.response,
      timeouts,
      retry: {
        maxRetries: 3,
        maxRequestBytes: 65_536,
        conditions: { statusRanges: [{ start: 500, end: 599 }, { start: 429, end: 429 }] },
        timeout: durationFromMillis(500),
        backoff,
      },
      allowL5dRequestHeaders: true,
    },
    { matches: [], filters: [], backends: { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: forward, filters: [] }] } } } },
    { matches: [], filters: [], backends: { kind: { $case: 'empty' as const, value: {} } } },
  ],
};
const outboundGrpcRoute = {
  metadata: inboundGrpcRoute.metadata,
  hosts: [],
  rules: [
    {
      matches: inboundGrpcRoute.rules[0]?.matches ?? [],
      filters: inboundGrpcRoute.rules[0]?.filters ?? [],
      backends: { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: balancer('emoji-svc.emojivoto.svc.cluster.local:8080', 'peakEwma'), filters: [] }] } } },
      timeouts,
      retry: {
        maxRetries: 2,
        maxRequestBytes: 65_536,
        conditions: { cancelled: false, deadineExceeded: true, resourceExhausted: true, internal: false, unavailable: true },
        timeout: durationFromMillis(250),
        backoff,
      },
      allowL5dRequestHeaders: false,
    },
    { matches: [], filters: [], backends: { kind: { $case: 'randomAvailable' as const, value: { backends: [{ backend: { backend: forward, filters: [] }, weight: 1 }] } } } },
    { matches: [], filters: [], backends: { kind: { $case: 'empty' as const, value: {} } } },
  ],
};
const opaqueRoute = {
  metadata: { kind: { $case: 'default' as const, value: 'opaq' } },
  rules: [
    { backends: { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: balancer('db.emojivoto.svc.cluster.local:5432', 'peakEwma'), filters: [] }] } } }, filters: [] },
    { backends: { kind: { $case: 'randomAvailable' as const, value: { backends: [{ backend: { backend: forward, filters: [{ kind: { $case: 'forbidden' as const, value: {} } }] }, weight: 1 }] } } }, filters: [] },
    { backends: { kind: { $case: 'empty' as const, value: {} } }, filters: [{ kind: { $case: 'invalid' as const, value: { message: 'no backends' } } }] },
  ],
};
const tlsRoute = {
  metadata: { kind: { $case: 'resource' as const, value: { group: 'gateway.networking.k8s.io', kind: 'TLSRoute', name: 'tls', namespace: 'emojivoto' } } },
  snis: [{ match: { $case: 'exact' as const, value: 'api.example.com' } }, { match: { $case: 'suffix' as const, value: { reverseLabels: ['com', 'example'] } } }],
  rules: opaqueRoute.rules,
};

export const trafficSpecs = {
  addr: TrafficSpec.fromPartial({ sourceWorkload: '{"ns":"emojivoto","pod":"vote-bot-0"}', target: { $case: 'addr', value: tcpAddress('10.96.0.20', 80) } }),
  authority: TrafficSpec.fromPartial({ sourceWorkload: '{"ns":"emojivoto","pod":"vote-bot-0"}', target: { $case: 'authority', value: 'web-svc.emojivoto.svc.cluster.local:80' } }),
};

const policy = (protocol: Parameters<typeof OutboundPolicy.fromPartial>[0]['protocol']) => OutboundPolicy.fromPartial({ protocol, metadata: service('web-svc', 80) });

export const outboundPolicies = {
  detect: policy({
    kind: {
      $case: 'detect',
      value: {
        timeout: durationFromMillis(10_000),
        opaque: { routes: [opaqueRoute] },
        http1: { routes: [outboundHttpRoute], failureAccrual: accrual.consecutive },
        http2: { routes: [outboundHttpRoute], failureAccrual: accrual.unified },
      },
    },
  }),
  opaque: policy({ kind: { $case: 'opaque', value: { routes: [opaqueRoute] } } }),
  http1: policy({ kind: { $case: 'http1', value: { routes: [outboundHttpRoute], failureAccrual: accrual.unified } } }),
  http2: policy({ kind: { $case: 'http2', value: { routes: [outboundHttpRoute] } } }),
  grpc: policy({ kind: { $case: 'grpc', value: { routes: [outboundGrpcRoute], failureAccrual: accrual.consecutive } } }),
  tls: policy({ kind: { $case: 'tls', value: { routes: [tlsRoute] } } }),
};

export const observeRequest = ObserveRequest.fromPartial({
  limit: 100,
  match: {
    match: {
      $case: 'all',
      value: {
        matches: [
          { match: { $case: 'source', value: { match: { $case: 'netmask', value: { ip: ipAddressFromString('10.42.0.0'), mask: 16 } } } } },
          { match: { $case: 'destination', value: { match: { $case: 'ports', value: { min: 8080, max: 8090 } } } } },
          { match: { $case: 'http', value: { match: { $case: 'scheme', value: { type: { $case: 'registered', value: Scheme_Registered.HTTP } } } } } },
          { match: { $case: 'http', value: { match: { $case: 'method', value: { type: { $case: 'registered', value: HttpMethod_Registered.GET } } } } } },
          { match: { $case: 'http', value: { match: { $case: 'authority', value: { match: { $case: 'exact', value: 'web-svc:80' } } } } } },
          { match: { $case: 'http', value: { match: { $case: 'path', value: { match: { $case: 'prefix', value: '/api' } } } } } },
          { match: { $case: 'any', value: { matches: [{ match: { $case: 'destinationLabel', value: { key: 'deployment', value: 'web' } } }] } } },
          { match: { $case: 'not', value: { match: { $case: 'routeLabel', value: { key: 'route', value: 'GET /health' } } } } },
        ],
      },
    },
  },
  extract: { extract: { $case: 'http', value: { extract: { $case: 'headers', value: {} } } } },
});

type TapHttp = NonNullable<NonNullable<Parameters<typeof TapEvent.fromPartial>[0]['event']>['value']>;
const streamId = { base: 7, stream: 2n ** 40n + 3n };
const tapEvent = (http: TapHttp) =>
  TapEvent.fromPartial({
    source: tcpAddress('10.42.0.9', 51_234),
    sourceMeta: { labels: { pod: 'vote-bot-0', namespace: 'emojivoto' } },
    routeMeta: { labels: { route: 'POST /api/vote' } },
    destination: tcpAddress('10.42.0.7', 8080),
    destinationMeta: { labels: { pod: 'web-5d9f8-abcde', tls: 'true' } },
    proxyDirection: TapEvent_ProxyDirection.OUTBOUND,
    event: { $case: 'http', value: http },
  });

export const tapEvents = {
  requestInit: tapEvent({
    event: {
      $case: 'requestInit',
      value: {
        id: streamId,
        method: { type: { $case: 'registered', value: HttpMethod_Registered.POST } },
        scheme: { type: { $case: 'unregistered', value: 'h2c' } },
        authority: 'web-svc.emojivoto:80',
        path: '/api/vote',
        headers: { headers: [{ name: 'content-type', value: Buffer.from('application/json') }] },
      },
    },
  }),
  responseInit: tapEvent({
    event: { $case: 'responseInit', value: { id: streamId, sinceRequestInit: durationFromMillis(12.5), httpStatus: 200, headers: { headers: [] } } },
  }),
  responseEndGrpc: tapEvent({
    event: {
      $case: 'responseEnd',
      value: {
        id: streamId,
        sinceRequestInit: durationFromMillis(20),
        sinceResponseInit: durationFromMillis(7.5),
        responseBytes: 5_000_000_000n,
        eos: { end: { $case: 'grpcStatusCode', value: 14 } },
        trailers: { headers: [{ name: 'grpc-status', value: Buffer.from('14') }] },
      },
    },
  }),
  responseEndReset: tapEvent({
    event: { $case: 'responseEnd', value: { id: streamId, eos: { end: { $case: 'resetErrorCode', value: 8 } } } },
  }),
};

export const transportHeaders = {
  opaque: Header.fromPartial({ port: 5432 }),
  http1: Header.fromPartial({ port: 80, sessionProtocol: { kind: { $case: 'http1', value: {} } } }),
  gatewayHttp2: Header.fromPartial({ port: 8080, name: 'web-svc.emojivoto.svc.cluster.local', sessionProtocol: { kind: { $case: 'http2', value: {} } } }),
};
