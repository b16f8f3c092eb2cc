import { describe, expect, it } from 'vitest';
import { createProxyLog, levelFromFilter } from './log.ts';

describe('levelFromFilter', () => {
  it.each([
    ['warn,linkerd=info,hickory=error', 'info'],
    ['warn,linkerd=info,hickory=error,[{headers}]=off,[{request}]=off', 'info'],
    ['debug', 'debug'],
    ['linkerd=trace', 'trace'],
    ['error,trellis=warn', 'warn'],
  ])('takes %s as %s', (f, l) => expect(levelFromFilter(f)).toBe(l));

  it('rejects an unknown level', () => expect(levelFromFilter('linkerd=loud')).toBeUndefined());
});

describe('createProxyLog', () => {
  it('changes the level live and keeps the old filter when the new one is invalid', () => {
    const log = createProxyLog('warn', { write: () => undefined });
    expect(log.logger.level).toBe('warn');
    expect(log.setFilter('linkerd=debug')).toBe(true);
    expect(log.logger.level).toBe('debug');
    expect(log.setFilter('nonsense level')).toBe(false);
    expect(log.filter()).toBe('linkerd=debug');
  });
});
