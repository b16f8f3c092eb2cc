import { describe, expect, it } from 'vitest';
import { parsePortList } from './ports.ts';

describe('parsePortList', () => {
  it('accepts ports, ranges and resolvable names, and reports the rest', () => {
    const { set, invalid } = parsePortList('3306, 8000-8002,db,nope,0,9-3,70000', (n) => (n === 'db' ? [5432] : []));
    expect([3306, 8000, 8001, 8002, 5432].every((p) => set.has(p))).toBe(true);
    expect(set.has(8003)).toBe(false);
    expect(invalid).toEqual(['nope', '0', '9-3', '70000']);
  });

  it('is empty for an absent or blank annotation', () => {
    expect(parsePortList(undefined).set.has(80)).toBe(false);
    expect(parsePortList(' ').set.has(80)).toBe(false);
  });
});
