import { describe, expect, it } from 'vitest';
import { tailLines } from './log-server.ts';

describe('tailLines', () => {
  it('keeps the last n lines, each ending in a newline', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb\nc', 1)).toBe('c\n');
    expect(tailLines('a\n', 5)).toBe('a\n');
    expect(tailLines('a\nb\n', 0)).toBe('');
  });
});
