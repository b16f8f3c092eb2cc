import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withMachineLock } from './machine-lock.ts';

describe('withMachineLock', () => {
  it('runs critical sections on the same file one at a time and hands back their results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-lock-'));
    const path = join(dir, 'lock');
    const events: string[] = [];
    const section = (name: string) => async () => {
      events.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 50));
      events.push(`${name} out`);
      return name;
    };
    const results = await Promise.all([withMachineLock(path, section('a')), withMachineLock(path, section('b')), withMachineLock(path, section('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace(' in', ' out'));
    await rm(dir, { recursive: true, force: true });
  });

  it('lets go of the lock when the section throws', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-lock-'));
    const path = join(dir, 'lock');
    await expect(withMachineLock(path, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withMachineLock(path, async () => 'next')).resolves.toBe('next');
    await rm(dir, { recursive: true, force: true });
  });
});
