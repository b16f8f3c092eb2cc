import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { ClusterIndex } from '../index/cluster-index.ts';
import { serviceRecord } from '../index/model.ts';
import { servicePolicy } from './outbound.ts';
import { GROUP_GATEWAY, routeRecord } from './routes.ts';

const svc = serviceRecord({ metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });

function rules(allow: boolean, withRoute: boolean) {
  const index = new ClusterIndex();
  index.upsertService(svc);
  if (withRoute) index.upsertRoute(routeRecord({ metadata: { name: 'r', namespace: 'shop' }, spec: { parentRefs: [{ kind: 'Service', name: 'web' }], rules: [{}] } }, GROUP_GATEWAY, 'HTTPRoute'));
  const p = servicePolicy(defaultConfig({ allowL5dRequestHeaders: allow }), index, svc, 80, undefined);
  if (p.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
  return p.protocol.kind.value.http1?.routes.flatMap((r) => r.rules) ?? [];
}

describe('servicePolicy', () => {
  it('lets clients use l5d-* request headers on every route only when --allow-l5d-request-headers is set', () => {
    for (const withRoute of [false, true]) {
      expect(rules(false, withRoute).map((r) => r.allowL5dRequestHeaders)).toEqual([false]);
      expect(rules(true, withRoute).map((r) => r.allowL5dRequestHeaders)).toEqual([true]);
    }
  });
});
