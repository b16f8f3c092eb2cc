import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from './inject.ts';
import { applyPatch } from './json-patch.ts';
import { uninject } from './uninject.ts';
import { DEFAULT_VALUES } from './values.ts';

const load = (name: string) =>
  (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'testdata', 'cases', `${name}.json`), 'utf8')) as { request: { object: unknown } }).request.object;

describe('uninject', () => {
  it.each(['kind-deployment', 'kind-cronjob', 'kind-pod-existing-init-and-volumes', 'kind-deployment-no-template-metadata'])(
    'restores %s after a manual injection, except for the inject annotation it removes',
    (name) => {
      const original = load(name);
      const injected = applyPatch(original, inject({ object: original, values: DEFAULT_VALUES, origin: 'cli' }).patch);
      const result = uninject(injected);
      expect(result.changed).toBe(true);
      const expected = uninject(original).object;
      // Maps the injector had to create stay behind, empty.
      expect(JSON.parse(JSON.stringify(result.object), (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? undefined : v))).toEqual(
        JSON.parse(JSON.stringify(expected), (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? undefined : v)),
      );
    },
  );

  it('removes the inject annotation from a Namespace', () => {
    const r = uninject({ kind: 'Namespace', metadata: { name: 'x', annotations: { 'linkerd.io/inject': 'enabled', keep: 'y' } } });
    expect(r).toMatchObject({ changed: true, object: { metadata: { annotations: { keep: 'y' } } } });
  });

  it('reports objects without a pod template as unsupported and unchanged', () => {
    expect(uninject({ kind: 'ConfigMap', metadata: { name: 'c' } })).toMatchObject({ changed: false, supported: false });
  });
});
