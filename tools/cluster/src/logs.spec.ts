import { describe, expect, it } from 'vitest';
import { criLogText } from './logs.ts';

describe('criLogText', () => {
  it('prints the text of CRI log records, partial lines joined, both streams in order', () => {
    const records = [
      '2026-12-07T04:00:00.000000001Z stdout F vote-bot: 10 votes: 9 ok, 1 failed, 0 errors',
      '2026-12-07T04:00:00.000000002Z stderr P a long ',
      '2026-12-07T04:00:00.000000003Z stderr P line in ',
      '2026-12-07T04:00:00.000000004Z stderr F three records',
      '2026-12-07T04:00:00.000000005Z stdout F ',
      '',
    ].join('\n');
    expect(criLogText(records)).toBe('vote-bot: 10 votes: 9 ok, 1 failed, 0 errors\na long line in three records\n\n');
  });
});
