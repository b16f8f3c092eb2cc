import { describe, expect, it } from 'vitest';
import { formatDestination, multiportChunks } from './multiport.ts';

const ports = (...ps: number[]) => ps.map((p) => ({ from: p, to: p }));
const range = (from: number, to: number) => ({ from, to });

describe('multiport chunking', () => {
  it('writes a port as itself, a range as a:b, and a one-port range as the port', () => {
    expect(formatDestination(range(80, 80))).toBe('80');
    expect(formatDestination(range(8000, 8100))).toBe('8000:8100');
  });

  it('makes no chunk for an empty list', () => {
    expect(multiportChunks([])).toEqual([]);
  });

  it('keeps 15 single ports in one rule and starts a second at the 16th', () => {
    const fifteen = Array.from({ length: 15 }, (_, i) => 1000 + i);
    expect(multiportChunks(ports(...fifteen))).toEqual([fifteen.map(String)]);
    expect(multiportChunks(ports(...fifteen, 2000))).toEqual([fifteen.map(String), ['2000']]);
  });

  it('counts a range as two port references', () => {
    const sevenRanges = Array.from({ length: 7 }, (_, i) => range(10 * i + 1, 10 * i + 5));
    expect(multiportChunks([...sevenRanges, range(99, 99)])).toHaveLength(1);
    const chunks = multiportChunks([...sevenRanges, range(100, 200)]);
    expect(chunks).toEqual([sevenRanges.map(formatDestination), ['100:200']]);
  });

  it('moves a range that would straddle the limit whole into the next rule, keeping order', () => {
    const fourteen = Array.from({ length: 14 }, (_, i) => 3000 + i);
    expect(multiportChunks([...ports(...fourteen), range(5000, 5010), ...ports(6000)])).toEqual([fourteen.map(String), ['5000:5010', '6000']]);
  });

  it('splits a long list into as many rules as needed', () => {
    const many = Array.from({ length: 40 }, (_, i) => 20000 + i);
    const chunks = multiportChunks(ports(...many));
    expect(chunks.map((c) => c.length)).toEqual([15, 15, 10]);
    expect(chunks.flat()).toEqual(many.map(String));
  });
});
