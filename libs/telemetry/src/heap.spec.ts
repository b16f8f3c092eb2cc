import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const HEAP = join(import.meta.dirname, 'heap.ts');

/** Largest V8 heap of a child that holds a steady live set and churns garbage for 3 s. */
async function peakHeapMb(tune: boolean): Promise<number> {
  const script = `
    ${tune ? `(await import(${JSON.stringify(HEAP)})).tuneHeap([]);` : ''}
    const live = Array.from({ length: 300000 }, (_, i) => ({ a: 'x' + i, b: [i] }));
    let peak = 0, keep = [];
    for (const t0 = Date.now(); Date.now() - t0 < 3000; ) {
      for (let i = 0; i < 10000; i++) keep.push({ s: 'y' + i, arr: new Array(10).fill(i) });
      if (keep.length > 50000) keep = [];
      peak = Math.max(peak, process.memoryUsage().heapTotal);
    }
    process.stdout.write(String(live.length && peak / 1048576));`;
  const { stdout, stderr } = await run(process.execPath, ['--max-semi-space-size=2', '--input-type=module', '-e', script]);
  const mb = Number(stdout);
  if (!(mb > 0)) throw new Error(`child printed no heap size: ${stdout} ${stderr}`);
  return mb;
}

describe('tuneHeap', () => {
  it('keeps the heap much closer to the live set than V8 does by default under steady churn', async () => {
    const [untuned, tuned] = [await peakHeapMb(false), await peakHeapMb(true)];
    expect(tuned).toBeLessThan(untuned * 0.7);
  }, 30_000);
});
