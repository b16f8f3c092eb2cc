import { describe, expect, it } from 'vitest';
import { ManifestError, parseJsonStream, parseManifests } from './read.ts';

describe('reading manifests', () => {
  it('splits a stream of JSON values, minding braces and quotes inside strings', () => {
    expect(parseJsonStream('{"a":"}{\\"x"}\n{"b":[1,{"c":"]"}]}  [1]')).toEqual([{ a: '}{"x' }, { b: [1, { c: ']' }] }, [1]]);
  });

  it('reads a JSON array of objects as its items and flow-style YAML as YAML', () => {
    expect(parseManifests('[{"kind":"Pod"},{"kind":"Service"}]', 's').map((m) => m.object)).toEqual([{ kind: 'Pod' }, { kind: 'Service' }]);
    expect(parseManifests('{kind: Pod}', 's').map((m) => m.object)).toEqual([{ kind: 'Pod' }]);
  });

  it('drops empty documents', () => {
    expect(parseManifests('---\nkind: Pod\n---\n---\n', 's')).toEqual([{ source: 's', object: { kind: 'Pod' } }]);
  });

  it('names the source and document of truncated JSON', () => {
    expect(() => parseManifests('{"kind": "Pod", "metadata": {', 'pod.json')).toThrow(ManifestError);
    expect(() => parseManifests('{"kind": "Pod", "metadata": {', 'pod.json')).toThrow(/^pod\.json: document 1 is neither valid JSON nor valid YAML/);
  });
});
