// Watches the directories holding the issuer and trust-anchor files and calls `onChange` (debounced).
// Kubernetes updates Secret and ConfigMap volumes by swapping a `..data` symlink, which shows up as an
// event on the directory, not on the file; a slow poll backs up platforms where directory events are lost.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatcherOptions {
  readonly paths: readonly string[];
  readonly onChange: () => void;
  readonly debounceMs?: number;
  readonly pollIntervalMs?: number;
  /** Told once per directory that cannot be watched (the poll still covers it). */
  readonly onWatchError?: (dir: string, err: Error) => void;
}

export class FileWatcher {
  readonly #watchers: FSWatcher[] = [];
  readonly #poll: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #o: FileWatcherOptions;

  constructor(opts: FileWatcherOptions) {
    this.#o = opts;
    for (const dir of new Set(opts.paths.map((p) => dirname(p)))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#kick());
        w.on('error', (err) => opts.onWatchError?.(dir, err));
        this.#watchers.push(w);
      } catch (err) {
        opts.onWatchError?.(dir, err as Error);
      }
    }
    const poll = opts.pollIntervalMs ?? 10_000;
    if (poll > 0) {
      this.#poll = setInterval(() => opts.onChange(), poll);
      this.#poll.unref();
    }
  }

  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#o.onChange();
    }, this.#o.debounceMs ?? 100);
    this.#timer.unref();
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    if (this.#poll) clearInterval(this.#poll);
    if (this.#timer) clearTimeout(this.#timer);
  }
}
