import { describe, expect, it } from 'vitest';
import { fail, ok, warn, type Category } from './model.ts';
import { runChecks, succeeded } from './runner.ts';

const clock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe('runChecks', () => {
  it('retries a retryable failure until it passes within the wait', async () => {
    let calls = 0;
    const c = clock();
    const cats: Category<null>[] = [{ id: 'a', checks: [{ description: 'pods ready', retry: true, run: async () => (++calls < 4 ? fail('starting') : ok) }] }];
    const r = await runChecks(cats, null, { deadline: 10_000, ...c });
    expect(calls).toBe(4);
    expect(r.map((x) => x.outcome.status)).toEqual(['ok']);
  });

  it('gives up on a retryable failure at the deadline and reports the last reason', async () => {
    let calls = 0;
    const c = clock();
    const cats: Category<null>[] = [{ id: 'a', checks: [{ description: 'pods ready', retry: true, run: async () => fail(`still starting (${++calls})`) }] }];
    const r = await runChecks(cats, null, { deadline: 3_000, retryEveryMs: 1000, ...c });
    expect(calls).toBe(4);
    expect(r[0]?.outcome).toEqual({ status: 'fail', message: 'still starting (4)' });
    expect(succeeded(r)).toBe(false);
  });

  it('does not retry a check that is not retryable', async () => {
    let calls = 0;
    const r = await runChecks([{ id: 'a', checks: [{ description: 'x', run: async () => (calls++, fail('no')) }] }], null, { deadline: Date.now() + 60_000 });
    expect(calls).toBe(1);
    expect(r).toHaveLength(1);
  });

  it('stops after a fatal failure and runs nothing later', async () => {
    let later = false;
    const cats: Category<null>[] = [
      { id: 'a', checks: [{ description: 'api', fatal: true, run: async () => fail('connection refused') }, { description: 'b', run: async () => ((later = true), ok) }] },
      { id: 'c', checks: [{ description: 'd', run: async () => ((later = true), ok) }] },
    ];
    const r = await runChecks(cats, null, { deadline: 0 });
    expect(r.map((x) => x.description)).toEqual(['api']);
    expect(later).toBe(false);
  });

  it('turns a check that throws into a failure with its first message line', async () => {
    const r = await runChecks([{ id: 'a', checks: [{ description: 'x', run: async () => { throw new Error('HTTP 403 forbidden\nbody...'); } }] }], null, { deadline: 0 });
    expect(r[0]?.outcome).toEqual({ status: 'fail', message: 'HTTP 403 forbidden' });
  });

  it('skips a category whose condition is false at its turn, and counts warnings as success', async () => {
    const state = { ha: false };
    const cats: Category<typeof state>[] = [
      { id: 'a', checks: [{ description: 'x', run: async () => warn('expires in 10 days') }] },
      { id: 'ha', when: (s) => s.ha, checks: [{ description: 'replicas', run: async () => fail('1 replica') }] },
    ];
    const r = await runChecks(cats, state, { deadline: 0 });
    expect(r.map((x) => x.category)).toEqual(['a']);
    expect(succeeded(r)).toBe(true);
  });
});
