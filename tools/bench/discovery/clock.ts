// Wall-clock milliseconds with sub-millisecond resolution: comparable between the bench's processes on
// one machine (performance.now() alone is per process).
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** Messages between the orchestrator (bench.ts) and its child processes. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'deliveries'; readonly deliveries: readonly (readonly [addr: string, atMs: number, stream: number])[]; readonly streamErrors: number }
  | { readonly type: 'seen'; readonly seen: readonly (readonly [addr: string, atMs: number])[] };
