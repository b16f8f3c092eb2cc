// A tap's limit and stream ids, shareable across threads: with LINKERD2_PROXY_CORES > 1 one Observe call is served
// by a part of the tap in every thread, and the limit is the call's, not each part's. The counters sit in a
// SharedArrayBuffer the parts update atomically; a tap in one thread uses the same code on its own buffer.
const REMAINING = 0;
const NEXT_STREAM = 1;
const IN_FLIGHT = 2;

export class TapQuota {
  readonly #cells: Int32Array;

  /** A fresh quota of `limit` requests, or (`shared`) the buffer of one made in another thread. */
  constructor(limit: number, shared?: SharedArrayBuffer) {
    if (shared) this.#cells = new Int32Array(shared);
    else {
      this.#cells = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
      // Limits above what an Int32 holds are taken as the largest it does (2^31 - 1 requests).
      this.#cells[REMAINING] = Math.min(limit, 0x7fffffff);
    }
  }

  /** For handing to another thread's part of the same tap. */
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }

  get exhausted(): boolean {
    return Atomics.load(this.#cells, REMAINING) <= 0;
  }

  /**
   * Takes one request: its stream id, or -1 when the limit is reached. The request counts as in flight before the
   * limit is touched, so no part can see the tap finished while another is taking its last request.
   */
  take(): number {
    Atomics.add(this.#cells, IN_FLIGHT, 1);
    if (Atomics.sub(this.#cells, REMAINING, 1) <= 0) {
      Atomics.add(this.#cells, REMAINING, 1);
      // Undone: the caller asks `finished`, as the last request's end may have passed while this one counted.
      Atomics.sub(this.#cells, IN_FLIGHT, 1);
      return -1;
    }
    return Atomics.add(this.#cells, NEXT_STREAM, 1);
  }

  /** A taken request ended, or a take was undone: true when the limit is reached and nothing is in flight anywhere. */
  ended(): boolean {
    return Atomics.sub(this.#cells, IN_FLIGHT, 1) === 1 && this.exhausted;
  }

  get inFlight(): number {
    return Atomics.load(this.#cells, IN_FLIGHT);
  }

  /** Whether the tap is finished (limit reached, nothing in flight): a part that took nothing asks this. */
  get finished(): boolean {
    return this.exhausted && Atomics.load(this.#cells, IN_FLIGHT) === 0;
  }
}
