import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { ClusterIndex } from '../index/cluster-index.ts';
import { podRecord, serverRecord } from '../index/model.ts';
import { authorizationPolicyRecord, networkAuthenticationRecord } from './authz.ts';
import { inboundServer } from './inbound.ts';
import { GROUP_GATEWAY, routeRecord } from './routes.ts';

const cfg = defaultConfig();
const named = (name: string, spec: object, extra: object = {}) => ({ metadata: { name, namespace: 'shop', ...extra }, spec });

function cluster(): ClusterIndex {
  const index = new ClusterIndex();
  index.upsertPod(
    podRecord({
      metadata: { name: 'rpc-0', namespace: 'shop', labels: { app: 'rpc' } },
      spec: { containers: [{ name: 'app', image: 'a', ports: [{ name: 'grpc', containerPort: 9090 }] }] },
      status: { phase: 'Running', podIP: '10.0.0.9' },
    }),
  );
  index.upsertServer(serverRecord(named('rpc', { podSelector: { matchLabels: { app: 'rpc' } }, port: 'grpc', proxyProtocol: 'gRPC', accessPolicy: 'deny' })));
  index.upsertNetworkAuthentication(networkAuthenticationRecord(named('office', { networks: [{ cidr: '10.1.0.0/16' }] })));
  return index;
}

describe('inboundServer', () => {
  it('serves GRPCRoutes on a gRPC Server with the policies that target them, and no default route', () => {
    const index = cluster();
    index.upsertRoute(
      routeRecord(
        named('cart-get', {
          parentRefs: [{ group: 'policy.linkerd.io', kind: 'Server', name: 'rpc' }],
          rules: [{ matches: [{ method: { service: 'shop.Cart', method: 'Get' } }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['x-debug'] } }] }],
        }),
        GROUP_GATEWAY,
        'GRPCRoute',
      ),
    );
    index.upsertAuthorizationPolicy(
      authorizationPolicyRecord(named('office-reads', { targetRef: { group: GROUP_GATEWAY, kind: 'GRPCRoute', name: 'cart-get' }, requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: 'office' }] })),
    );
    const pod = index.pod('shop', 'rpc-0');
    if (!pod) throw new Error('pod not indexed');
    const s = inboundServer(cfg, index, pod, 9090);
    expect(s.labels).toEqual({ group: 'policy.linkerd.io', kind: 'server', name: 'rpc' });
    expect(s.authorizations).toEqual([]);
    if (s.protocol?.kind?.$case !== 'grpc') throw new Error('expected grpc');
    const [route, ...rest] = s.protocol.kind.value.routes;
    expect(rest).toEqual([]);
    expect(route?.metadata).toEqual({ kind: { $case: 'resource', value: { group: GROUP_GATEWAY, kind: 'GRPCRoute', name: 'cart-get', namespace: '', section: '', port: 0 } } });
    expect(route?.rules).toEqual([{ matches: [{ rpc: { service: 'shop.Cart', method: 'Get' }, headers: [] }], filters: [{ kind: { $case: 'requestHeaderModifier', value: { add: undefined, set: undefined, remove: ['x-debug'] } } }] }]);
    expect(route?.authorizations.map((a) => a.labels['name'])).toEqual(['office-reads']);
  });

  it('ignores a route to the Server from another namespace', () => {
    const index = cluster();
    index.upsertRoute(routeRecord({ metadata: { name: 'foreign', namespace: 'other' }, spec: { parentRefs: [{ group: 'policy.linkerd.io', kind: 'Server', name: 'rpc', namespace: 'shop' }] } }, GROUP_GATEWAY, 'GRPCRoute'));
    const pod = index.pod('shop', 'rpc-0');
    if (!pod) throw new Error('pod not indexed');
    const s = inboundServer(cfg, index, pod, 9090);
    if (s.protocol?.kind?.$case !== 'grpc') throw new Error('expected grpc');
    expect(s.protocol.kind.value.routes.map((r) => r.metadata?.kind?.value)).toEqual(['default']);
  });
});
