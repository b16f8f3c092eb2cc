// Shared control-plane watches, one per key: the first holder starts the watch, later ones share it, and it
// stops after an idle timeout once the last holder released it (a target used again soon keeps its stream).
export interface Lease<T> {
  readonly value: T;
  /** Drops this holder's interest; the stream closes after the idle timeout if nobody else holds it. */
  release(): void;
}

export interface Stoppable {
  start(): unknown;
  stop(): void;
}

interface Entry<T> {
  readonly value: T;
  readonly watch: Stoppable;
  holders: number;
  evict: NodeJS.Timeout | undefined;
}

export class LeaseMap<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #idleMs: () => number;

  constructor(idleMs: number | (() => number)) {
    this.#idleMs = typeof idleMs === 'number' ? () => idleMs : idleMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, if a watch for it is live (for /debug and tests). */
  peek(key: string): T | undefined {
    return this.#entries.get(key)?.value;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  lease(key: string, make: () => { value: T; watch: Stoppable }): Lease<T> {
    const map = this.#entries;
    let e = map.get(key);
    if (!e) {
      const made = make();
      e = { ...made, holders: 0, evict: undefined };
      map.set(key, e);
      made.watch.start();
    }
    const entry = e;
    clearTimeout(entry.evict);
    entry.evict = undefined;
    entry.holders++;
    let released = false;
    return {
      value: entry.value,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.holders > 0) return;
        entry.evict = setTimeout(() => {
          if (entry.holders > 0 || map.get(key) !== entry) return;
          map.delete(key);
          entry.watch.stop();
        }, this.#idleMs());
        entry.evict.unref();
      },
    };
  }

  close(): void {
    for (const e of this.#entries.values()) {
      clearTimeout(e.evict);
      e.watch.stop();
    }
    this.#entries.clear();
  }
}
