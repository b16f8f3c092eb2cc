import { describe, expect, it } from 'vitest';
import { GaugeFamily } from '../metrics/families.ts';
import { OpaqueMemory } from './opaque-memory.ts';

describe('OpaqueMemory', () => {
  const setup = (ttl: number, max: number) => {
    let now = 1000;
    const gauge = new GaugeFamily('g', 'h').child('direction="outbound"');
    return { mem: new OpaqueMemory(ttl, max, gauge, () => now), gauge, advance: (ms: number) => (now += ms) };
  };

  it('remembers a port until the time-to-live passes, and shows the count in the gauge', () => {
    const { mem, gauge, advance } = setup(60_000, 10);
    mem.remember(3306);
    expect(mem.has(3306)).toBe(true);
    expect(mem.has(80)).toBe(false);
    expect(gauge.value).toBe(1);
    advance(60_000);
    expect(mem.has(3306)).toBe(false);
    expect(gauge.value).toBe(0);
  });

  it('holds at most max ports, forgetting the oldest', () => {
    const { mem, gauge } = setup(60_000, 2);
    mem.remember(1);
    mem.remember(2);
    mem.remember(3);
    expect([mem.has(1), mem.has(2), mem.has(3)]).toEqual([false, true, true]);
    expect(gauge.value).toBe(2);
  });
});
