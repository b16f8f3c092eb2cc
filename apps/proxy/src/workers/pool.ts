// The main thread's side of LINKERD2_PROXY_CORES > 1: it starts `cores - 1` worker threads, each running a data
// path on listeners bound to the same ports (SO_REUSEPORT, the kernel spreading new connections), and is their
// only link to the rest of the proxy: it posts them each certificate, asks them for their metrics at each scrape,
// opens every tap in each, and drains them on shutdown. A worker that fails ends the proxy, as a crash would.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Credentials } from '../identity/credentials.ts';
import type { TapRegistry } from '../tap/registry.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';
import { ThreadedTaps } from './threaded-taps.ts';

/** How long a scrape waits for a worker's metrics before it answers without them. */
const SCRAPE_TIMEOUT_MS = 5000;

export interface WorkerPoolOptions {
  /** The module a worker runs: the proxy's main, which runs a worker when it is not the main thread. */
  readonly entry: URL;
  readonly count: number;
  readonly init: Omit<WorkerInit, 'index'>;
  readonly taps: TapRegistry;
  readonly log: Pick<Logger, 'error' | 'warn'>;
  /** Called when a worker fails (an uncaught error, or it exited before the drain). */
  readonly onFailure: (err: Error) => void;
}

export class WorkerPool {
  readonly #workers: Worker[];
  readonly #scrapes = new Map<number, { texts: string[]; left: number; done: (texts: string[]) => void }>();
  readonly #drains: ((clean: boolean) => void)[] = [];
  readonly taps: ThreadedTaps;
  #nextScrape = 0;
  #stopping = false;

  private constructor(o: WorkerPoolOptions) {
    this.taps = new ThreadedTaps(o.taps, { count: o.count, broadcast: (m) => this.broadcast(m) });
    this.#workers = Array.from({ length: o.count }, (_, i) => {
      const init: WorkerInit = { ...o.init, index: i + 1 };
      // The worker inherits the environment and parses its own config; stdout and stderr are the process's.
      const w = new Worker(o.entry, { workerData: init, stdout: false, stderr: false });
      w.on('message', (m: FromWorker) => this.#onMessage(m));
      w.on('error', (err) => {
        o.log.error({ worker: i + 1, err: err.message }, 'worker thread failed');
        o.onFailure(err);
      });
      w.on('exit', (code) => {
        if (!this.#stopping) o.onFailure(new Error(`worker thread ${i + 1} exited (${code})`));
      });
      return w;
    });
  }

  /** Starts the workers and resolves once each is accepting on the shared ports. */
  static async start(o: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(o);
    await Promise.all(
      pool.#workers.map(async (w) => {
        for (;;) {
          const [m] = (await Promise.race([once(w, 'message'), once(w, 'error').then(([e]) => Promise.reject(e as Error))])) as [FromWorker];
          if (m.t === 'listening') return;
        }
      }),
    );
    return pool;
  }

  get size(): number {
    return this.#workers.length;
  }

  broadcast(msg: ToWorker): void {
    for (const w of this.#workers) w.postMessage(msg);
  }

  credentials(creds: Credentials): void {
    this.broadcast({ t: 'credentials', creds });
  }

  /** Each worker's metric text (those that answered within the timeout). */
  scrape(): Promise<string[]> {
    const id = this.#nextScrape++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), SCRAPE_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        const s = this.#scrapes.get(id);
        this.#scrapes.delete(id);
        resolve(s?.texts ?? []);
      };
      this.#scrapes.set(id, { texts: [], left: this.#workers.length, done: finish });
      this.broadcast({ t: 'scrape', id });
    });
  }

  /** Drains every worker; true when each one's connections all closed within the grace period. */
  async drain(): Promise<boolean> {
    this.#stopping = true;
    const answers = this.#workers.map(() => new Promise<boolean>((resolve) => this.#drains.push(resolve)));
    this.broadcast({ t: 'drain' });
    return (await Promise.all(answers)).every(Boolean);
  }

  close(): void {
    this.#stopping = true;
    for (const w of this.#workers) void w.terminate();
  }

  #onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'metrics': {
        const s = this.#scrapes.get(m.id);
        if (!s) return;
        s.texts.push(m.text);
        if (--s.left === 0) s.done(s.texts);
        return;
      }
      case 'tap-events':
      case 'tap-ended':
        this.taps.deliver(m);
        return;
      case 'drained':
        this.#drains.shift()?.(m.clean);
        return;
      case 'listening':
        return;
    }
  }
}
