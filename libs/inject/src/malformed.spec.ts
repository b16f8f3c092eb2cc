import { describe, expect, it } from 'vitest';
import { inject } from './inject.ts';
import { applyPatch } from './json-patch.ts';
import { DEFAULT_VALUES } from './values.ts';

const EN = { 'linkerd.io/inject': 'enabled' };

// Objects an API server would never store but a manifest file (CLI) or a broken client (webhook) may carry.
const MALFORMED: readonly (readonly [string, unknown])[] = [
  ['null', null],
  ['an array', [1, 2]],
  ['a Pod without spec', { kind: 'Pod', metadata: { annotations: EN } }],
  ['a Pod whose spec is a string', { kind: 'Pod', metadata: { annotations: EN }, spec: 'x' }],
  ['a Pod whose metadata is null', { kind: 'Pod', metadata: null, spec: { containers: [] } }],
  ['containers that is not a list', { kind: 'Pod', metadata: { annotations: EN }, spec: { containers: { name: 'a' } } }],
  ['containers with nulls and numbers', { kind: 'Pod', metadata: { annotations: EN }, spec: { containers: [null, 3, { name: 'a', ports: [null, { containerPort: '80' }, 'x'] }] } }],
  ['probes of odd shapes', { kind: 'Pod', metadata: { annotations: EN }, spec: { containers: [{ name: 'a', livenessProbe: 'x', readinessProbe: { httpGet: null }, startupProbe: { httpGet: { port: 'http' } } }] } }],
  ['annotations that are not strings', { kind: 'Pod', metadata: { annotations: { 'linkerd.io/inject': 1, 'config.linkerd.io/proxy-uid': {} } }, spec: { containers: [{ name: 'a' }] } }],
  ['volume mounts that are not a list', { kind: 'Pod', metadata: { annotations: EN }, spec: { containers: [{ name: 'a', volumeMounts: 'x', securityContext: { capabilities: 'x' } }] } }],
  ['a Deployment whose template is a list', { kind: 'Deployment', metadata: { name: 'd' }, spec: { template: [] } }],
  ['a CronJob without jobTemplate', { kind: 'CronJob', metadata: { name: 'c' }, spec: {} }],
  ['a Service whose ports are odd', { kind: 'Service', metadata: { name: 's' }, spec: { ports: [null, { port: 'x' }, { targetPort: 3306 }] } }],
  ['a kind that is a number', { kind: 7 }],
];

describe('malformed objects', () => {
  it.each(MALFORMED)('handles %s without throwing, with a patch that applies', (_what, object) => {
    for (const origin of ['webhook', 'cli'] as const) {
      const result = inject({ object, values: DEFAULT_VALUES, origin, namespace: { name: 'ns', annotations: EN } });
      expect(Array.isArray(result.patch)).toBe(true);
      if (result.patch.length > 0) expect(() => applyPatch(object, result.patch)).not.toThrow();
    }
  });
});
