import { describe, expect, it } from 'vitest';
import { GROUP_GATEWAY, routeRecord } from '../policy/routes.ts';
import { ClusterIndex, topic } from './cluster-index.ts';
import { serviceRecord } from './model.ts';

const route = (name: string, parent: string, backend: string) =>
  routeRecord({ metadata: { name, namespace: 'shop' }, spec: { parentRefs: [{ kind: 'Service', name: parent }], rules: [{ backendRefs: [{ name: backend, port: 80 }] }] } }, GROUP_GATEWAY, 'HTTPRoute');

function listen(index: ClusterIndex, topics: string[]): string[] {
  const heard: string[] = [];
  for (const t of topics) index.subscribe([t], () => heard.push(t));
  return heard;
}

describe('ClusterIndex routes', () => {
  it('tells the old and the new parent Service when a route moves, and forgets it on delete', () => {
    const index = new ClusterIndex();
    const heard = listen(index, [topic.service('shop', 'a'), topic.service('shop', 'b')]);
    index.upsertRoute(route('r', 'a', 'x'));
    expect(heard).toEqual([topic.service('shop', 'a')]);
    expect(index.routesOfService('shop', 'a').map((r) => r.name)).toEqual(['r']);
    heard.length = 0;
    index.upsertRoute(route('r', 'b', 'x'));
    expect(heard.sort()).toEqual([topic.service('shop', 'a'), topic.service('shop', 'b')]);
    expect(index.routesOfService('shop', 'a')).toEqual([]);
    heard.length = 0;
    index.deleteRoute(GROUP_GATEWAY, 'HTTPRoute', 'shop', 'r');
    expect(heard).toEqual([topic.service('shop', 'b')]);
    expect(index.routesOfService('shop', 'b')).toEqual([]);
  });

  it('tells a route parent when a backend Service appears or goes, but not when it only changes', () => {
    const index = new ClusterIndex();
    index.upsertRoute(route('r', 'a', 'backend'));
    const heard = listen(index, [topic.service('shop', 'a')]);
    const backend = serviceRecord({ metadata: { name: 'backend', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
    index.upsertService(backend);
    expect(heard).toHaveLength(1);
    index.upsertService(backend);
    expect(heard).toHaveLength(1);
    index.deleteService('shop', 'backend');
    expect(heard).toHaveLength(2);
  });

  it('tells a namespace when an authorization policy in it changes', () => {
    const index = new ClusterIndex();
    const heard = listen(index, [topic.policy('shop'), topic.servers('shop')]);
    index.upsertAuthorizationPolicy({ namespace: 'shop', name: 'p', target: { group: 'core', kind: 'Namespace', namespace: 'shop', name: 'shop' }, authentications: [] });
    index.deleteAuthorizationPolicy('shop', 'p');
    expect(heard).toEqual([topic.policy('shop'), topic.policy('shop')]);
    expect([...index.authorizationPoliciesIn('shop')]).toEqual([]);
  });
});
