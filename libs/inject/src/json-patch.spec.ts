import { describe, expect, it } from 'vitest';
import { applyPatch, PatchError } from './json-patch.ts';

describe('applyPatch', () => {
  it('adds members, inserts and appends to arrays, unescapes ~1 and ~0', () => {
    const out = applyPatch({ a: { list: [1, 3] } }, [
      { op: 'add', path: '/a/list/1', value: 2 },
      { op: 'add', path: '/a/list/-', value: 4 },
      { op: 'add', path: '/a/x~1y', value: 'slash' },
      { op: 'add', path: '/a/t~0', value: 'tilde' },
    ]);
    expect(out).toEqual({ a: { list: [1, 2, 3, 4], 'x/y': 'slash', 't~': 'tilde' } });
  });

  it('does not modify its input', () => {
    const doc = { a: [1] };
    applyPatch(doc, [{ op: 'add', path: '/a/-', value: 2 }]);
    expect(doc).toEqual({ a: [1] });
  });

  it('removes and replaces', () => {
    expect(applyPatch({ a: 1, b: [1, 2] }, [{ op: 'remove', path: '/a' }, { op: 'replace', path: '/b/0', value: 9 }])).toEqual({ b: [9, 2] });
  });

  it('rejects paths through missing containers', () => {
    expect(() => applyPatch({}, [{ op: 'add', path: '/a/b', value: 1 }])).toThrow(PatchError);
    expect(() => applyPatch({ a: [] }, [{ op: 'add', path: '/a/5', value: 1 }])).toThrow(/index out of range/);
  });
});
