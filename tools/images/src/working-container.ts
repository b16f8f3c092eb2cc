// The one way an image is put together by hand here: a buildah working container from `from`, filled, committed
// as `ref`, and removed whether or not that worked (a failed build leaves no container behind).
import { must } from './exec.ts';

export async function commitImage(from: string, ref: string, fill: (ctr: string) => Promise<void>): Promise<void> {
  const ctr = (await must('buildah', ['from', from])).trim();
  try {
    await fill(ctr);
    await must('buildah', ['commit', '--quiet', ctr, ref]);
  } finally {
    await must('buildah', ['rm', ctr]).catch(() => undefined);
  }
}
