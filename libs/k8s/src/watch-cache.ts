// A cache of one Kubernetes collection fed by list+watch, on top of the client library's ListWatch, made
// safe for long-running controllers: the library relists on 410 but stops for good on any other error and
// silently drops exceptions thrown by handlers. This wrapper restarts with jittered backoff, restarts a
// watch that went silent, reports every (re)sync, and reports handler exceptions instead of losing them.
import { KubernetesObjectApi, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { collectionPath, type ResourceRef } from './resource-path.ts';

export type ObjectHandler<T> = (obj: T) => void;

interface Listeners<T> {
  add: ObjectHandler<T>[];
  update: ObjectHandler<T>[];
  delete: ObjectHandler<T>[];
  synced: (() => void)[];
  error: ((err: unknown) => void)[];
  handlerError: ((err: unknown, obj: T) => void)[];
}

export interface WatchLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface WatchCacheOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly backoff?: BackoffOptions;
  /** Restart the watch when nothing (not even a reconnect) arrived for this long. Default 5 min. */
  readonly watchdogMs?: number;
  readonly logger?: WatchLogger;
}

export class WatchCache<T extends KubernetesObject> {
  readonly resource: string;
  /** Times the watch was restarted after an error or a silent period. */
  restarts = 0;
  /** Exceptions thrown by handlers (each also emitted as 'handlerError'). */
  handlerErrors = 0;
  /** Date.now() of the last event or reconnect. */
  lastActivity = 0;

  private readonly lw: ListWatch<T>;
  private readonly listeners: Listeners<T> = { add: [], update: [], delete: [], synced: [], error: [], handlerError: [] };
  private readonly backoff: Backoff;
  private readonly logger: WatchLogger | undefined;
  private readonly watchdogMs: number;
  private isSynced = false;
  private stopped = true;
  private errorGeneration = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  constructor(kc: KubeConfig, ref: ResourceRef, opts: WatchCacheOptions = {}) {
    this.resource = collectionPath(ref);
    this.backoff = new Backoff(opts.backoff);
    this.logger = opts.logger;
    this.watchdogMs = opts.watchdogMs ?? 5 * 60_000;
    const api = KubernetesObjectApi.makeApiClient(kc);
    const list = () =>
      api.list<T>(ref.apiVersion, ref.kind, ref.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector) as Promise<KubernetesListObject<T>>;
    this.lw = new ListWatch<T>(this.resource, new Watch(kc), list, false, opts.labelSelector, opts.fieldSelector);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.lw.on(verb, (obj: T) => {
        this.lastActivity = Date.now();
        this.dispatch(verb, obj);
      });
    }
    this.lw.on('connect', () => {
      this.lastActivity = Date.now();
    });
    this.lw.on('error', (err: unknown) => this.onWatchError(err));
  }

  on(event: 'add' | 'update' | 'delete', fn: ObjectHandler<T>): this;
  on(event: 'synced', fn: () => void): this;
  on(event: 'error', fn: (err: unknown) => void): this;
  on(event: 'handlerError', fn: (err: unknown, obj: T) => void): this;
  on(event: keyof Listeners<T>, fn: (...args: never[]) => void): this {
    (this.listeners[event] as unknown[]).push(fn);
    return this;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** Starts watching; resolves at the first sync (retrying with backoff until then, or until stop()). */
  async start(): Promise<void> {
    this.stopped = false;
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.min(this.watchdogMs, 30_000));
    this.watchdog.unref();
    const synced = this.waitForSync();
    void this.restart(false);
    await synced;
  }

  /** Resolves at the next moment the cache is (or already is) in sync; rejects after timeoutMs if given. */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.listeners.synced = this.listeners.synced.filter((f) => f !== done);
        resolve();
      };
      this.listeners.synced.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.listeners.synced = this.listeners.synced.filter((f) => f !== done);
          reject(new Error(`${this.resource} did not sync within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.isSynced = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    await this.lw.stop();
  }

  private dispatch(verb: 'add' | 'update' | 'delete', obj: T): void {
    for (const fn of this.listeners[verb]) {
      try {
        fn(obj);
      } catch (err) {
        this.handlerErrors++;
        this.logger?.warn({ err, resource: this.resource, name: obj.metadata?.name, namespace: obj.metadata?.namespace }, `${verb} handler threw`);
        for (const h of this.listeners.handlerError) h(err, obj);
      }
    }
  }

  private onWatchError(err: unknown): void {
    this.errorGeneration++;
    if (this.stopped) return;
    this.isSynced = false;
    for (const fn of this.listeners.error) fn(err);
    this.scheduleRestart(err);
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopped || this.retryTimer) return;
    const delayMs = this.backoff.next();
    this.logger?.warn({ err: (err as Error)?.message ?? String(err), resource: this.resource, delayMs }, 'watch failed; restarting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.restart(true);
    }, delayMs);
  }

  private restart(counted: boolean): Promise<void> {
    if (this.restarting) return this.restarting;
    this.restarting = (async () => {
      if (counted) this.restarts++;
      const generation = this.errorGeneration;
      try {
        await this.lw.start();
      } catch (err) {
        this.onWatchError(err);
      }
      this.restarting = undefined;
      if (this.stopped || generation !== this.errorGeneration) return;
      // The list succeeded and the watch is open.
      this.lastActivity = Date.now();
      this.backoff.reset();
      this.isSynced = true;
      this.logger?.info({ resource: this.resource, objects: this.lw.list().length, restarts: this.restarts }, 'watch cache synced');
      for (const fn of [...this.listeners.synced]) fn();
    })();
    return this.restarting;
  }

  private checkWatchdog(): void {
    if (this.stopped || this.restarting || this.retryTimer) return;
    if (Date.now() - this.lastActivity < this.watchdogMs) return;
    this.logger?.warn({ resource: this.resource, silentMs: Date.now() - this.lastActivity }, 'watch went silent; restarting');
    this.isSynced = false;
    void this.lw.stop().then(() => this.restart(true));
  }
}
