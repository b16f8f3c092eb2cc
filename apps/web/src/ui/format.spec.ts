import { describe, expect, it } from 'vitest';
import { health, ms, percent, rps, shortType } from './format.ts';

describe('percent', () => {
  it('shows one decimal, whole 100 % only for a perfect rate, and a dash for nothing measured', () => {
    expect(percent(0.8837)).toBe('88.4%');
    expect(percent(1)).toBe('100%');
    expect(percent(0.9996)).toBe('99.9%');
    expect(percent(null)).toBe('-');
    expect(percent(Number.NaN)).toBe('-');
  });
});

describe('rps and ms', () => {
  it('keep small rates readable and switch latencies above a second to seconds', () => {
    expect(rps(0)).toBe('0');
    expect(rps(0.0333)).toBe('0.033');
    expect(rps(1.4333)).toBe('1.43');
    expect(rps(25.25)).toBe('25.3');
    expect(ms(3.96)).toBe('4.0 ms');
    expect(ms(250)).toBe('250 ms');
    expect(ms(1500)).toBe('1.50 s');
    expect(ms(null)).toBe('-');
  });
});

describe('health', () => {
  it('marks a rate with failures as warn or bad, and no traffic as none', () => {
    expect(health(1)).toBe('good');
    expect(health(0.95)).toBe('warn');
    expect(health(0.88)).toBe('bad');
    expect(health(null)).toBe('none');
  });
});

describe('shortType', () => {
  it('gives the metrics API short names', () => {
    expect(shortType('deployment')).toBe('deploy');
    expect(shortType('statefulset')).toBe('sts');
    expect(shortType('service')).toBe('service');
  });
});
