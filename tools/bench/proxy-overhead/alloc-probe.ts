// Loaded into a proxy with `node --import` by bench.ts --alloc: counts what the JS heap allocates between the
// bench's marks (SIGUSR2 before and after each measured window), with the GCs and their pauses, and appends one
// JSON line per mark to $TRELLIS_BENCH_ALLOC_DIR/<pid>.jsonl. Allocation is read from V8's own heap statistics
// around every GC (v8.GCProfiler), so it does not depend on the machine's load: what a window allocated is the
// growth of the used heap between GCs, summed. With TRELLIS_BENCH_HEAP_SAMPLE=<bytes>, the first window also runs
// the sampling heap profiler, collected objects included, and writes <pid>.heapprofile: the allocation sites.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import v8 from 'node:v8';

const dir = process.env['TRELLIS_BENCH_ALLOC_DIR'] ?? '/tmp';
const sampleInterval = Number(process.env['TRELLIS_BENCH_HEAP_SAMPLE'] ?? 0);
const out = join(dir, `${process.pid}.jsonl`);

let profiler = new v8.GCProfiler();
profiler.start();
let lastUsed = v8.getHeapStatistics().used_heap_size;
let allocated = 0;
let scavenges = 0;
let fullGcs = 0;
let pauseMicros = 0;
let fullPauseMicros = 0;
let maxPauseMicros = 0;
let marks = 0;
let session: Session | undefined;

function mark(): void {
  const gcs = profiler.stop()?.statistics ?? [];
  profiler = new v8.GCProfiler();
  profiler.start();
  for (const gc of gcs) {
    allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - lastUsed);
    lastUsed = gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkSweep') scavenges++;
    else if (gc.gcType === 'MarkSweepCompact') {
      fullGcs++;
      fullPauseMicros += gc.cost;
    }
    pauseMicros += gc.cost;
    maxPauseMicros = Math.max(maxPauseMicros, gc.cost);
  }
  const used = v8.getHeapStatistics().used_heap_size;
  allocated += Math.max(0, used - lastUsed);
  lastUsed = used;
  appendFileSync(out, JSON.stringify({ mark: marks, allocatedBytes: allocated, scavenges, fullGcs, pauseMicros, fullPauseMicros, maxPauseMicros, heapUsed: used }) + '\n');
  maxPauseMicros = 0;
  marks++;
  if (sampleInterval > 0 && marks === 1) {
    session = new Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: sampleInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else if (session && marks === 2) {
    const s = session;
    session = undefined;
    s.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(res.profile));
      s.disconnect();
    });
  }
}

process.on('SIGUSR2', mark);
