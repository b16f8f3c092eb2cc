// The one way an image is put together by hand here: a buildah working container from `from`, filled, committed
// as `ref`, and removed whether or not that worked (a failed build leaves no container behind). With `inputs`, the
// image carries the hash of what went into it (cache.ts), and one already built from the same inputs is kept as it is.
import { INPUTS_LABEL, upToDate } from './cache.ts';
import { must } from './exec.ts';

/** Resolves true when it built, false when `ref` was already built from `inputs`. */
export async function commitImage(from: string, ref: string, fill: (ctr: string) => Promise<void>, inputs?: string): Promise<boolean> {
  if (inputs && (await upToDate(ref, inputs))) return false;
  const ctr = (await must('buildah', ['from', from])).trim();
  try {
    await fill(ctr);
    if (inputs) await must('buildah', ['config', '--label', `${INPUTS_LABEL}=${inputs}`, ctr]);
    await must('buildah', ['commit', '--quiet', ctr, ref]);
  } finally {
    await must('buildah', ['rm', ctr]).catch(() => undefined);
  }
  return true;
}
