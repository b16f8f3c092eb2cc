// A cache of one Kubernetes collection fed by list+watch, on top of the client library's ListWatch, made
// safe for long-running controllers: the library relists on 410 but stops for good on any other error and
// silently drops exceptions thrown by handlers. This wrapper restarts with jittered backoff, restarts a
// watch that went silent, reports every (re)sync, and reports handler exceptions instead of losing them.
// An optional transform cuts each object down as it arrives, so the cache never holds whole objects.
import { KubernetesObjectApi, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { collectionPath, type ResourceRef } from './resource-path.ts';

export type ObjectHandler<T> = (obj: T) => void;

interface Listeners<T, S> {
  add: ObjectHandler<S>[];
  update: ObjectHandler<S>[];
  delete: ObjectHandler<S>[];
  synced: (() => void)[];
  error: ((err: unknown) => void)[];
  /** A handler threw (obj is what it was given), or the transform threw (obj is the object as received). */
  handlerError: ((err: unknown, obj: S | T) => void)[];
}

export interface WatchLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface WatchCacheOptions<T extends KubernetesObject = KubernetesObject, S extends KubernetesObject = T> {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly backoff?: BackoffOptions;
  /**
   * Restart the watch when nothing arrived for this long: no event, no bookmark, no reconnect. The watch asks for
   * bookmarks, and the client library reconnects a watch silent for 30 s, so a healthy watch is never silent this
   * long; this is the backstop when both fail. Default 90 s.
   */
  readonly watchdogMs?: number;
  readonly logger?: WatchLogger;
  /** Objects per list request when (re)listing. Default 500. */
  readonly listPageSize?: number;
  /**
   * Applied to every object the API server sends (list items and watch events, deletions included) before
   * the cache keeps it or a handler sees it: return only what the handlers need. The object's name,
   * namespace and resourceVersion are carried over onto the result (relists are diffed by them). An object
   * the transform throws on is skipped and reported as a handler error.
   */
  readonly transform?: (obj: T) => S;
}

/** Copies the identity the cache needs (name, namespace, resourceVersion) onto a transformed object. */
function carryIdentity<S extends KubernetesObject>(from: KubernetesObject, to: S): S {
  if ((to as KubernetesObject) === from) return to;
  const m = from.metadata;
  to.metadata = { ...to.metadata, name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion } as KubernetesObject['metadata'];
  return to;
}

export class WatchCache<T extends KubernetesObject, S extends KubernetesObject = T> {
  readonly resource: string;
  /** Times the watch was restarted after an error or a silent period. */
  restarts = 0;
  /** Exceptions thrown by handlers (each also emitted as 'handlerError'). */
  handlerErrors = 0;
  /** Date.now() of the last event or reconnect. */
  lastActivity = 0;

  private readonly lw: ListWatch<S>;
  private readonly transform: ((obj: T) => S) | undefined;
  private readonly listeners: Listeners<T, S> = { add: [], update: [], delete: [], synced: [], error: [], handlerError: [] };
  private readonly backoff: Backoff;
  private readonly logger: WatchLogger | undefined;
  private readonly watchdogMs: number;
  private isSynced = false;
  private stopped = true;
  private errorGeneration = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  constructor(kc: KubeConfig, ref: ResourceRef, opts: WatchCacheOptions<T, S> = {}) {
    this.resource = collectionPath(ref);
    this.backoff = new Backoff(opts.backoff);
    this.logger = opts.logger;
    this.watchdogMs = opts.watchdogMs ?? 90_000;
    this.transform = opts.transform;
    const api = KubernetesObjectApi.makeApiClient(kc);
    // Listed in pages, each transformed before the next is fetched, so a big collection is never in memory
    // whole (continue pages are served from the first page's snapshot; an expired token fails the list,
    // and the restart lists again).
    const pageSize = opts.listPageSize ?? 500;
    const list = async (): Promise<KubernetesListObject<S>> => {
      const items: S[] = [];
      let token: string | undefined;
      let last: KubernetesListObject<T>;
      do {
        last = (await api.list<T>(ref.apiVersion, ref.kind, ref.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector, pageSize, token)) as KubernetesListObject<T>;
        for (const o of last.items) {
          const out = this.apply(o);
          if (out) items.push(out);
        }
        // Typed lists carry the token as `_continue`; lists of custom resources keep the wire name.
        const meta = last.metadata as { _continue?: string; continue?: string } | undefined;
        token = meta?._continue || meta?.continue || undefined;
      } while (token);
      return { ...last, items } as KubernetesListObject<S>;
    };
    const watch = new ObservedWatch(kc, this.transform ? (o) => this.apply(o as T) : undefined, () => (this.lastActivity = Date.now()));
    this.lw = new ListWatch<S>(this.resource, watch, list, false, opts.labelSelector, opts.fieldSelector);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.lw.on(verb, (obj: S) => {
        this.lastActivity = Date.now();
        this.dispatch(verb, obj);
      });
    }
    this.lw.on('connect', () => {
      this.lastActivity = Date.now();
    });
    this.lw.on('error', (err: unknown) => this.onWatchError(err));
  }

  on(event: 'add' | 'update' | 'delete', fn: ObjectHandler<S>): this;
  on(event: 'synced', fn: () => void): this;
  on(event: 'error', fn: (err: unknown) => void): this;
  on(event: 'handlerError', fn: (err: unknown, obj: S | T) => void): this;
  on(event: keyof Listeners<T, S>, fn: (...args: never[]) => void): this {
    (this.listeners[event] as unknown[]).push(fn);
    return this;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  get(name: string, namespace?: string): S | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly S[] {
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

  /** The transformed object, or undefined (reported) when the transform threw on it. */
  private apply(obj: T): S | undefined {
    if (!this.transform) return obj as unknown as S;
    try {
      return carryIdentity(obj, this.transform(obj));
    } catch (err) {
      this.handlerErrors++;
      this.logger?.warn({ err, resource: this.resource, name: obj.metadata?.name, namespace: obj.metadata?.namespace }, 'transform threw; object skipped');
      for (const h of this.listeners.handlerError) h(err, obj);
      return undefined;
    }
  }

  private dispatch(verb: 'add' | 'update' | 'delete', obj: S): void {
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

/**
 * The Watch under ListWatch: asks for bookmarks (so an idle watch still hears from the API server), reports every
 * event as activity for the watchdog, and hands ListWatch transformed objects when a transform is given (bookmarks
 * and error statuses pass through untouched).
 */
class ObservedWatch extends Watch {
  private readonly fn: ((obj: KubernetesObject) => KubernetesObject | undefined) | undefined;
  private readonly onActivity: () => void;

  constructor(kc: KubeConfig, fn: ((obj: KubernetesObject) => KubernetesObject | undefined) | undefined, onActivity: () => void) {
    super(kc);
    this.fn = fn;
    this.onActivity = onActivity;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, obj, watchObj) => {
        this.onActivity();
        if (!this.fn || (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED')) return callback(phase, obj, watchObj);
        const out = this.fn(obj as KubernetesObject);
        if (out) callback(phase, out, watchObj);
      },
      done,
    );
  }
}
