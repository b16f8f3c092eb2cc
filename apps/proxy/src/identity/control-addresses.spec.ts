import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchAddresses, type AddressWatch } from './control-addresses.ts';

let w: AddressWatch | undefined;
afterEach(() => {
  w?.stop();
  vi.useRealTimers();
});

/** A lookup that answers from a script, one answer per call (the last repeats). */
function scripted(answers: (readonly string[] | Error)[]) {
  let i = 0;
  return async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a;
  };
}

describe('watchAddresses', () => {
  it('reports the addresses that left the name, once', async () => {
    vi.useFakeTimers();
    const gone: string[][] = [];
    w = watchAddresses('dst.example', 1000, scripted([['10.0.0.1', '10.0.0.2'], ['10.0.0.2', '10.0.0.3'], ['10.0.0.2', '10.0.0.3']]), (g) => gone.push(g));
    await vi.advanceTimersByTimeAsync(2500);
    expect(gone).toEqual([['10.0.0.1']]);
  });

  it('treats failed lookups and empty answers as no news, then compares with the last real answer', async () => {
    vi.useFakeTimers();
    const gone: string[][] = [];
    w = watchAddresses('dst.example', 1000, scripted([['10.0.0.1'], new Error('ENOTFOUND'), [], ['10.0.0.9']]), (g) => gone.push(g));
    await vi.advanceTimersByTimeAsync(2500);
    expect(gone).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(gone).toEqual([['10.0.0.1']]);
  });

  it('never polls an IP literal', async () => {
    vi.useFakeTimers();
    const lookup = vi.fn(async () => ['10.0.0.1']);
    w = watchAddresses('10.0.0.1', 1000, lookup, () => undefined);
    await vi.advanceTimersByTimeAsync(5000);
    expect(lookup).not.toHaveBeenCalled();
  });
});
