// Hand-written messages shaped like what Trellis' control plane and proxies exchange. Between them they
// take every oneof branch of the service-level messages, and use maps, repeated fields and deep nesting.
import { DestinationProfile, GetDestination, Update, WeightedAddr } from '../src/gen/destination.ts';
import { HttpMethod_Registered, Scheme_Registered } from '../src/gen/http_types.ts';
import { CertifyRequest, CertifyResponse } from '../src/gen/identity.ts';
import { PortSpec, Server } from '../src/gen/inbound.ts';
import { Backend, FailureAccrual, OutboundPolicy, TrafficSpec } from '../src/gen/outbound.ts';
import { ObserveRequest, TapEvent, TapEvent_ProxyDirection } from '../src/gen/tap.ts';
import { Header } from '../src/gen/transport_header.ts';
import { ipAddressFromString, ipNetworkFromString } from '../src/ip.ts';
import { tcpAddress } from '../src/tcp-address.ts';
import { durationFromMillis, timestampFromDate } from '../src/time.ts';

type ServerInit = Parameters<typeof Server.fromPartial>[0];
type OutboundPolicyInit = Parameters<typeof OutboundPolicy.fromPartial>[0];
type TapEventInit = Parameters<typeof TapEvent.fromPartial>[0];
type TapHttpInit = NonNullable<NonNullable<TapEventInit['event']>['value']>;

const identityOf = (sa: string, ns: string): string => `${sa}.${ns}.serviceaccount.identity.trellis.cluster.local`;
const ms = durationFromMillis;

const resource = (group: string, kind: string, name: string, port = 0) => ({
  kind: { $case: 'resource' as const, value: { group, kind, name, namespace: 'emojivoto', section: '', port } },
});
const defaultMeta = (name: string) => ({ kind: { $case: 'default' as const, value: name } });
const service = (name: string, port: number) => resource('core', 'Service', name, port);
const header = (name: string, value: string) => ({ name, value: Buffer.from(value) });
const get = { type: { $case: 'registered' as const, value: HttpMethod_Registered.GET } };
const post = { type: { $case: 'registered' as const, value: HttpMethod_Registered.POST } };

// Destination.

export const endpoint = WeightedAddr.fromPartial({
  addr: tcpAddress('10.42.0.7', 8080),
  weight: 10000,
  metricLabels: { pod: 'web-5d9f8-abcde', pod_template_hash: '5d9f8', serviceaccount: 'web' },
  tlsIdentity: {
    strategy: { $case: 'dnsLikeIdentity', value: { name: identityOf('web', 'emojivoto') } },
    serverName: { name: identityOf('web', 'emojivoto') },
  },
  protocolHint: { protocol: { $case: 'h2', value: {} }, opaqueTransport: { inboundPort: 4143 } },
  authorityOverride: { authorityOverride: 'web.emojivoto.svc.cluster.local:8080' },
  http2: {
    flowControl: { initialConnectionWindowSize: 1 << 20, initialStreamWindowSize: 1 << 16, adaptiveFlowControl: true },
    keepAlive: { interval: ms(10_000), timeout: ms(3_000), whileIdle: true },
    internals: { maxConcurrentResetStreams: 20, maxFrameSize: 16_384, maxSendBufSize: 409_600 },
  },
  resourceRef: resource('core', 'Pod', 'web-5d9f8-abcde'),
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
            tlsIdentity: {
              strategy: { $case: 'uriLikeIdentity', value: { uri: 'spiffe://cluster.local/ns/emojivoto/sa/web' } },
            },
            protocolHint: { protocol: { $case: 'opaque', value: {} } },
          },
        ],
        metricLabels: { namespace: 'emojivoto', service: 'web-svc' },
      },
    },
  }),
  remove: Update.fromPartial({
    update: { $case: 'remove', value: { addrs: [tcpAddress('10.42.0.7', 8080), tcpAddress('fd00:10:42::8', 8080)] } },
  }),
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
              { match: { $case: 'method', value: post } },
              {
                match: {
                  $case: 'not',
                  value: { match: { $case: 'method', value: { type: { $case: 'unregistered', value: 'PURGE' } } } },
                },
              },
              {
                match: {
                  $case: 'any',
                  value: { matches: [{ match: { $case: 'path', value: { regex: '/api/.*' } } }] },
                },
              },
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
      timeout: ms(250),
    },
  ],
  retryBudget: { retryRatio: 0.25 /* exact as a float */, minRetriesPerSecond: 10, ttl: ms(10_000) },
  dstOverrides: [
    { authority: 'web-svc-v2.emojivoto.svc.cluster.local:80', weight: 900, backendRef: service('web-svc-v2', 80) },
    { authority: 'web-svc.emojivoto.svc.cluster.local:80', weight: 100 },
  ],
  opaqueProtocol: false,
  fullyQualifiedName: 'web-svc.emojivoto.svc.cluster.local',
  endpoint,
  parentRef: service('web-svc', 80),
  profileRef: resource('linkerd.io', 'ServiceProfile', 'web-svc.emojivoto.svc.cluster.local'),
});

// Identity.

export const certifyRequest = CertifyRequest.fromPartial({
  identity: identityOf('web', 'emojivoto'),
  token: Buffer.from('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'),
  certificateSigningRequest: Buffer.from('3082010a0201', 'hex'),
});

export const certifyResponse = CertifyResponse.fromPartial({
  leafCertificate: Buffer.from('308201aa', 'hex'),
  intermediateCertificates: [Buffer.from('30820155', 'hex'), Buffer.from('30820166', 'hex')],
  validUntil: timestampFromDate(new Date('2026-11-24T01:00:00Z')),
});

// Inbound policy.

const allNetworks = [
  { net: ipNetworkFromString('0.0.0.0/0'), except: [] },
  { net: ipNetworkFromString('::/0'), except: [ipNetworkFromString('fd00:dead::/32')] },
];

const rateLimit = {
  metadata: resource('policy.linkerd.io', 'HTTPLocalRateLimitPolicy', 'web-rl'),
  total: { requestsPerSecond: 100 },
  identity: { requestsPerSecond: 20 },
  overrides: [
    { limit: { requestsPerSecond: 50 }, clients: { identities: [{ name: identityOf('vote-bot', 'emojivoto') }] } },
  ],
};

const hosts = [
  { match: { $case: 'exact' as const, value: 'web.example.com' } },
  { match: { $case: 'suffix' as const, value: { reverseLabels: ['com', 'example'] } } },
];

const httpMatches = [
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
    method: get,
  },
  { path: { kind: { $case: 'exact' as const, value: '/' } } },
  { path: { kind: { $case: 'regex' as const, value: '/v[0-9]/.*' } } },
];

const httpFilters = [
  {
    kind: {
      $case: 'failureInjector' as const,
      value: { status: 503, message: 'injected', ratio: { numerator: 1, denominator: 10 } },
    },
  },
  {
    kind: {
      $case: 'requestHeaderModifier' as const,
      value: { add: { headers: [header('x-a', '1')] }, set: { headers: [] }, remove: ['x-b'] },
    },
  },
  {
    kind: {
      $case: 'redirect' as const,
      value: {
        scheme: { type: { $case: 'registered' as const, value: Scheme_Registered.HTTPS } },
        host: 'example.com',
        path: { replace: { $case: 'prefix' as const, value: '/v2' } },
        port: 443,
        status: 302,
      },
    },
  },
  {
    kind: {
      $case: 'redirect' as const,
      value: { path: { replace: { $case: 'full' as const, value: '/moved' } }, status: 301 },
    },
  },
];

const inboundHttpRoute = {
  metadata: defaultMeta('default'),
  hosts,
  authorizations: [],
  rules: [{ matches: httpMatches, filters: httpFilters }],
};

const grpcMatches = [
  {
    rpc: { service: 'emojivoto.v1.EmojiService', method: 'ListAll' },
    headers: [{ name: 'x-env', value: { $case: 'exact' as const, value: Buffer.from('prod') } }],
  },
];

const grpcFilters = [
  {
    kind: {
      $case: 'failureInjector' as const,
      value: { code: 14, message: 'unavailable', ratio: { numerator: 1, denominator: 100 } },
    },
  },
  { kind: { $case: 'requestHeaderModifier' as const, value: { add: { headers: [] }, remove: ['x-debug'] } } },
];

const inboundGrpcRoute = {
  metadata: resource('gateway.networking.k8s.io', 'GRPCRoute', 'emoji'),
  hosts: [],
  authorizations: [],
  rules: [{ matches: grpcMatches, filters: grpcFilters }],
};

const server = (protocol: ServerInit['protocol']) =>
  Server.fromPartial({
    protocol,
    serverIps: [ipAddressFromString('10.42.0.7'), ipAddressFromString('fd00:10:42::7')],
    authorizations: [
      {
        networks: allNetworks,
        authentication: { permit: { $case: 'unauthenticated', value: {} } },
        labels: { group: '', kind: 'default', name: 'all-unauthenticated' },
        metadata: defaultMeta('all-unauthenticated'),
      },
      {
        networks: allNetworks,
        authentication: { permit: { $case: 'meshTLS', value: { clients: { $case: 'unauthenticated', value: {} } } } },
        labels: {},
        metadata: defaultMeta('all-authenticated'),
      },
      {
        networks: [{ net: ipNetworkFromString('10.42.0.0/16'), except: [ipNetworkFromString('10.42.9.0/24')] }],
        authentication: {
          permit: {
            $case: 'meshTLS',
            value: {
              clients: {
                $case: 'identities',
                value: {
                  identities: [{ name: identityOf('vote-bot', 'emojivoto') }],
                  suffixes: [{ parts: ['emojivoto', 'serviceaccount'] }, { parts: [] }],
                },
              },
            },
          },
        },
        labels: { group: 'policy.linkerd.io', kind: 'AuthorizationPolicy', name: 'web-authz' },
        metadata: resource('policy.linkerd.io', 'AuthorizationPolicy', 'web-authz'),
      },
    ],
    labels: { group: 'policy.linkerd.io', kind: 'Server', name: 'web-http' },
  });

export const portSpec = PortSpec.fromPartial({ workload: '{"ns":"emojivoto","pod":"web-5d9f8-abcde"}', port: 8080 });

export const servers = {
  detect: server({
    kind: {
      $case: 'detect',
      value: { timeout: ms(10_000), httpRoutes: [inboundHttpRoute], httpLocalRateLimit: rateLimit },
    },
  }),
  opaque: server({ kind: { $case: 'opaque', value: {} } }),
  tls: server({ kind: { $case: 'tls', value: {} } }),
  http1: server({ kind: { $case: 'http1', value: { routes: [inboundHttpRoute], localRateLimit: rateLimit } } }),
  http2: server({ kind: { $case: 'http2', value: { routes: [inboundHttpRoute], localRateLimit: rateLimit } } }),
  grpc: server({ kind: { $case: 'grpc', value: { routes: [inboundGrpcRoute] } } }),
};

// Outbound policy.

const backoff = { minBackoff: ms(1_000), maxBackoff: ms(60_000), jitterRatio: 0.5, respectRetryAfterHint: true };

const peakEwma = { $case: 'peakEwma' as const, value: { defaultRtt: ms(30), decay: ms(10_000) } };
const penaltyPeakEwma = {
  $case: 'penaltyPeakEwma' as const,
  value: {
    defaultRtt: ms(30),
    decay: ms(10_000),
    penalty: ms(5_000),
    maxRetryAfter: ms(300_000),
    penaltyDecay: ms(10_000),
  },
};

const balancer = (path: string, load: typeof peakEwma | typeof penaltyPeakEwma) =>
  Backend.fromPartial({
    metadata: service('web-svc', 80),
    kind: { $case: 'balancer', value: { discovery: { kind: { $case: 'dst', value: { path } } }, load } },
    queue: { capacity: 100, failfastTimeout: ms(3_000) },
  });

const forward = Backend.fromPartial({
  metadata: defaultMeta('egress-fallback'),
  kind: { $case: 'forward', value: endpoint },
  queue: { capacity: 100 },
});

const consecutiveFailures = FailureAccrual.fromPartial({
  kind: { $case: 'consecutiveFailures', value: { maxFailures: 7, backoff } },
  ejection: { minReadyEndpoints: 1 },
});

const unifiedAccrual = FailureAccrual.fromPartial({
  kind: {
    $case: 'unified',
    value: { successRateThreshold: 0.9, decay: ms(30_000), minRequests: 20, maxConsecutiveFailures: 5, backoff },
  },
});

const timeouts = { response: ms(1_000), request: ms(5_000), idle: ms(60_000) };
const empty = { kind: { $case: 'empty' as const, value: {} } };

const outboundHttpRoute = {
  metadata: resource('gateway.networking.k8s.io', 'HTTPRoute', 'web-split'),
  hosts,
  rules: [
    {
      matches: httpMatches,
      filters: [
        ...httpFilters,
        {
          kind: {
            $case: 'responseHeaderModifier' as const,
            value: { add: { headers: [] }, set: { headers: [header('x-served-by', 'trellis')] }, remove: [] },
          },
        },
      ],
      backends: {
        kind: {
          $case: 'randomAvailable' as const,
          value: {
            backends: [
              {
                backend: {
                  backend: balancer('web-svc.emojivoto.svc.cluster.local:80', peakEwma),
                  filters: [],
                  requestTimeout: ms(1_000),
                },
                weight: 90,
              },
              {
                backend: {
                  backend: balancer('web-svc-v2.emojivoto.svc.cluster.local:80', penaltyPeakEwma),
                  filters: [],
                },
                weight: 10,
              },
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
        timeout: ms(500),
        backoff,
      },
      allowL5dRequestHeaders: true,
    },
    {
      matches: [],
      filters: [],
      backends: {
        kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: forward, filters: [] }] } },
      },
    },
    { matches: [], filters: [], backends: empty },
  ],
};

const outboundGrpcRoute = {
  metadata: inboundGrpcRoute.metadata,
  hosts: [],
  rules: [
    {
      matches: grpcMatches,
      filters: grpcFilters,
      backends: {
        kind: {
          $case: 'firstAvailable' as const,
          value: {
            backends: [{ backend: balancer('emoji-svc.emojivoto.svc.cluster.local:8080', peakEwma), filters: [] }],
          },
        },
      },
      timeouts,
      retry: {
        maxRetries: 2,
        maxRequestBytes: 65_536,
        conditions: {
          cancelled: false,
          deadineExceeded: true,
          resourceExhausted: true,
          internal: false,
          unavailable: true,
        },
        timeout: ms(250),
        backoff,
      },
      allowL5dRequestHeaders: false,
    },
    {
      matches: [],
      filters: [],
      backends: {
        kind: {
          $case: 'randomAvailable' as const,
          value: { backends: [{ backend: { backend: forward, filters: [] }, weight: 1 }] },
        },
      },
    },
    { matches: [], filters: [], backends: empty },
  ],
};

const opaqueRules = [
  {
    backends: {
      kind: {
        $case: 'firstAvailable' as const,
        value: { backends: [{ backend: balancer('db.emojivoto.svc.cluster.local:5432', peakEwma), filters: [] }] },
      },
    },
    filters: [],
  },
  {
    backends: {
      kind: {
        $case: 'randomAvailable' as const,
        value: {
          backends: [
            {
              backend: { backend: forward, filters: [{ kind: { $case: 'forbidden' as const, value: {} } }] },
              weight: 1,
            },
          ],
        },
      },
    },
    filters: [],
  },
  { backends: empty, filters: [{ kind: { $case: 'invalid' as const, value: { message: 'no backends' } } }] },
];

const opaqueRoute = { metadata: defaultMeta('opaq'), rules: opaqueRules };

const tlsRoute = {
  metadata: resource('gateway.networking.k8s.io', 'TLSRoute', 'tls'),
  snis: [
    { match: { $case: 'exact' as const, value: 'api.example.com' } },
    { match: { $case: 'suffix' as const, value: { reverseLabels: ['com', 'example'] } } },
  ],
  rules: opaqueRules,
};

const sourceWorkload = '{"ns":"emojivoto","pod":"vote-bot-0"}';

export const trafficSpecs = {
  addr: TrafficSpec.fromPartial({ sourceWorkload, target: { $case: 'addr', value: tcpAddress('10.96.0.20', 80) } }),
  authority: TrafficSpec.fromPartial({
    sourceWorkload,
    target: { $case: 'authority', value: 'web-svc.emojivoto.svc.cluster.local:80' },
  }),
};

const policy = (protocol: OutboundPolicyInit['protocol']) =>
  OutboundPolicy.fromPartial({ protocol, metadata: service('web-svc', 80) });

export const outboundPolicies = {
  detect: policy({
    kind: {
      $case: 'detect',
      value: {
        timeout: ms(10_000),
        opaque: { routes: [opaqueRoute] },
        http1: { routes: [outboundHttpRoute], failureAccrual: consecutiveFailures },
        http2: { routes: [outboundHttpRoute], failureAccrual: unifiedAccrual },
      },
    },
  }),
  opaque: policy({ kind: { $case: 'opaque', value: { routes: [opaqueRoute] } } }),
  http1: policy({ kind: { $case: 'http1', value: { routes: [outboundHttpRoute], failureAccrual: unifiedAccrual } } }),
  http2: policy({ kind: { $case: 'http2', value: { routes: [outboundHttpRoute] } } }),
  grpc: policy({
    kind: { $case: 'grpc', value: { routes: [outboundGrpcRoute], failureAccrual: consecutiveFailures } },
  }),
  tls: policy({ kind: { $case: 'tls', value: { routes: [tlsRoute] } } }),
};

// Tap.

const httpMatch = <T>(match: T) => ({ match: { $case: 'http' as const, value: { match } } });

export const observeRequest = ObserveRequest.fromPartial({
  limit: 100,
  match: {
    match: {
      $case: 'all',
      value: {
        matches: [
          {
            match: {
              $case: 'source',
              value: { match: { $case: 'netmask', value: { ip: ipAddressFromString('10.42.0.0'), mask: 16 } } },
            },
          },
          { match: { $case: 'destination', value: { match: { $case: 'ports', value: { min: 8080, max: 8090 } } } } },
          httpMatch({
            $case: 'scheme' as const,
            value: { type: { $case: 'registered' as const, value: Scheme_Registered.HTTP } },
          }),
          httpMatch({ $case: 'method' as const, value: get }),
          httpMatch({
            $case: 'authority' as const,
            value: { match: { $case: 'exact' as const, value: 'web-svc:80' } },
          }),
          httpMatch({ $case: 'path' as const, value: { match: { $case: 'prefix' as const, value: '/api' } } }),
          {
            match: {
              $case: 'any',
              value: {
                matches: [{ match: { $case: 'destinationLabel', value: { key: 'deployment', value: 'web' } } }],
              },
            },
          },
          {
            match: {
              $case: 'not',
              value: { match: { $case: 'routeLabel', value: { key: 'route', value: 'GET /health' } } },
            },
          },
        ],
      },
    },
  },
  extract: { extract: { $case: 'http', value: { extract: { $case: 'headers', value: {} } } } },
});

const streamId = { base: 7, stream: 2n ** 40n + 3n };

const tapEvent = (http: TapHttpInit) =>
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
        method: post,
        scheme: { type: { $case: 'unregistered', value: 'h2c' } },
        authority: 'web-svc.emojivoto:80',
        path: '/api/vote',
        headers: { headers: [header('content-type', 'application/json')] },
      },
    },
  }),
  responseInit: tapEvent({
    event: {
      $case: 'responseInit',
      value: { id: streamId, sinceRequestInit: ms(12.5), httpStatus: 200, headers: { headers: [] } },
    },
  }),
  responseEndGrpc: tapEvent({
    event: {
      $case: 'responseEnd',
      value: {
        id: streamId,
        sinceRequestInit: ms(20),
        sinceResponseInit: ms(7.5),
        responseBytes: 5_000_000_000n,
        eos: { end: { $case: 'grpcStatusCode', value: 14 } },
        trailers: { headers: [header('grpc-status', '14')] },
      },
    },
  }),
  responseEndReset: tapEvent({
    event: { $case: 'responseEnd', value: { id: streamId, eos: { end: { $case: 'resetErrorCode', value: 8 } } } },
  }),
};

// Transport header.

export const transportHeaders = {
  opaque: Header.fromPartial({ port: 5432 }),
  http1: Header.fromPartial({ port: 80, sessionProtocol: { kind: { $case: 'http1', value: {} } } }),
  gatewayHttp2: Header.fromPartial({
    port: 8080,
    name: 'web-svc.emojivoto.svc.cluster.local',
    sessionProtocol: { kind: { $case: 'http2', value: {} } },
  }),
};
