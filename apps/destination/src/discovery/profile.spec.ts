import { describe, expect, it } from 'vitest';
import { durationFromMillis } from '@trellis/proto';
import { defaultConfig } from '../config.ts';
import { InvalidRequestError } from '../errors.ts';
import type { ServiceRecord } from '../index/model.ts';
import { DEFAULT_RETRY_BUDGET, quantityMilli, serviceProfile, translateProfileSpec } from './profile.ts';
import { parseOutboundAnnotations } from '../policy/annotations.ts';

const svc: ServiceRecord = { namespace: 'ns', name: 'web', clusterIPs: ['10.96.0.1'], ports: [{ name: 'http', port: 80, targetPort: 8080, appProtocol: '' }, { name: 'db', port: 3306, targetPort: 3306, appProtocol: '' }], opaquePorts: undefined, internalTrafficPolicyLocal: false, outbound: parseOutboundAnnotations({}) };
const cfg = defaultConfig();

describe('translateProfileSpec', () => {
  it('translates routes, response classes, timeouts, the retry budget and dstOverrides', () => {
    const t = translateProfileSpec(
      {
        routes: [
          {
            name: 'GET /books/{id}',
            condition: { method: 'GET', pathRegex: '/books/\\d+' },
            responseClasses: [{ condition: { status: { min: 500, max: 599 } }, isFailure: true }],
            isRetryable: true,
            timeout: '250ms',
          },
          { name: 'any', condition: { any: [{ method: 'POST' }, { not: { pathRegex: '/x' } }] } },
        ],
        retryBudget: { retryRatio: 0.5, minRetriesPerSecond: 3, ttl: '1m' },
        dstOverrides: [{ authority: 'web-v2.ns.svc.cluster.local', weight: '500m' }, { authority: 'web.ns.svc.cluster.local:80', weight: 1 }],
      },
      80,
    );
    expect(t.routes[0]).toEqual({
      condition: { match: { $case: 'all', value: { matches: [{ match: { $case: 'method', value: { type: { $case: 'registered', value: 0 } } } }, { match: { $case: 'path', value: { regex: '/books/\\d+' } } }] } } },
      responseClasses: [{ condition: { match: { $case: 'status', value: { min: 500, max: 599 } } }, isFailure: true }],
      metricsLabels: { route: 'GET /books/{id}' },
      isRetryable: true,
      timeout: durationFromMillis(250),
    });
    expect(t.routes[1]?.condition?.match?.$case).toBe('any');
    expect(t.routes[1]?.timeout).toBeUndefined();
    expect(t.retryBudget).toEqual({ retryRatio: 0.5, minRetriesPerSecond: 3, ttl: durationFromMillis(60_000) });
    expect(t.dstOverrides).toEqual([
      { authority: 'web-v2.ns.svc.cluster.local:80', weight: 5000, backendRef: undefined },
      { authority: 'web.ns.svc.cluster.local:80', weight: 10000, backendRef: undefined },
    ]);
  });

  it.each([
    [{ routes: [{ condition: { method: 'GET' } }] }, /needs a name/],
    [{ routes: [{ name: 'r', condition: {} }] }, /condition has no method/],
    [{ routes: [{ name: 'r', condition: { pathRegex: '(' } }] }, /not a valid regular expression/],
    [{ routes: [{ name: 'r', condition: { method: 'GET' }, timeout: 'soon' }] }, /spec.routes\[0\].timeout/],
    [{ dstOverrides: [{ authority: 'a', weight: 'lots' }] }, /not a quantity/],
  ])('names the bad field of %j', (spec, message) => {
    expect(() => translateProfileSpec(spec, 80)).toThrow(InvalidRequestError);
    expect(() => translateProfileSpec(spec, 80)).toThrow(message);
  });

  it('reads quantities as Kubernetes does', () => {
    expect(quantityMilli('1', 'w')).toBe(1000);
    expect(quantityMilli('0.25', 'w')).toBe(250);
    expect(quantityMilli(2, 'w')).toBe(2000);
    expect(quantityMilli('750m', 'w')).toBe(750);
  });
});

describe('serviceProfile', () => {
  it('is the default profile without a ServiceProfile, opaque on default opaque ports', () => {
    const p = serviceProfile(cfg, svc, 80, undefined);
    expect(p).toMatchObject({ routes: [], retryBudget: DEFAULT_RETRY_BUDGET, dstOverrides: [], opaqueProtocol: false, fullyQualifiedName: 'web.ns.svc.cluster.local', profileRef: undefined });
    expect(p.parentRef).toEqual({ kind: { $case: 'resource', value: { group: 'core', kind: 'Service', name: 'web', namespace: 'ns', section: '', port: 80 } } });
    expect(serviceProfile(cfg, svc, 3306, undefined).opaqueProtocol).toBe(true);
  });

  it('takes opaque ports from the Service annotation, including port names', () => {
    expect(serviceProfile(cfg, { ...svc, opaquePorts: 'http' }, 80, undefined).opaqueProtocol).toBe(true);
    expect(serviceProfile(cfg, { ...svc, opaquePorts: '9000' }, 3306, undefined).opaqueProtocol).toBe(false);
  });

  it('is an empty profile for a port the Service does not declare', () => {
    expect(serviceProfile(cfg, svc, 81, undefined)).toMatchObject({ fullyQualifiedName: '', retryBudget: undefined, parentRef: undefined });
  });

  it('serves the default profile and reports an untranslatable ServiceProfile', () => {
    const seen: string[] = [];
    const sp = { namespace: 'ns', name: 'web.ns.svc.cluster.local', spec: { routes: [{ name: 'r', condition: {} }] } };
    const p = serviceProfile(cfg, svc, 80, sp, (err) => seen.push(err.message));
    expect(p.routes).toEqual([]);
    expect(p.profileRef).toBeUndefined();
    expect(seen).toHaveLength(1);
  });
});
