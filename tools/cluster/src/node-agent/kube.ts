// A small Kubernetes REST client for the node agent: JSON requests with the cluster's admin client certificate,
// and a list+watch loop that re-lists on 410 and backs off on errors. The agent needs a handful of verbs on a few
// resources; typed wrappers of @kubernetes/client-node would cost more than they give here.
import { request, type RequestOptions } from 'node:https';
import { readFileSync } from 'node:fs';

export interface KubeCredentials {
  readonly server: string;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

// Kubernetes objects are open-ended JSON; the agent reads the fields it needs through narrow types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary API objects
export type KObject = Record<string, any>;

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: KObject;
}

export class Kube {
  readonly #url: URL;
  readonly #tls: Pick<RequestOptions, 'ca' | 'cert' | 'key'>;

  constructor(creds: KubeCredentials) {
    this.#url = new URL(creds.server);
    this.#tls = { ca: readFileSync(creds.caCert), cert: readFileSync(creds.clientCert), key: readFileSync(creds.clientKey) };
  }

  #options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return { method, host: this.#url.hostname, port: this.#url.port, path, headers, ...this.#tls };
  }

  /** One JSON request; resolves with the parsed body, throws KubeApiError on a non-2xx status. */
  async call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KObject> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = contentType;
      // A chunked body is ignored on DELETE by the API server (the grace period would be lost): say its length.
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(this.#options(method, path, headers), (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(new KubeApiError(method, path, status, text));
          try {
            resolve(text ? (JSON.parse(text) as KObject) : {});
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string): Promise<KObject> {
    return this.call('GET', path);
  }

  /** GET that maps 404 to undefined. */
  async find(path: string): Promise<KObject | undefined> {
    try {
      return await this.call('GET', path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  mergePatch(path: string, patch: unknown): Promise<KObject> {
    return this.call('PATCH', path, patch, 'application/merge-patch+json');
  }

  /**
   * Lists `path` then watches it from the list's resourceVersion, calling `onSync` with the full list after each
   * (re-)list and `onEvent` for each change. Runs until `signal` aborts.
   */
  async listWatch(path: string, query: string, onSync: (items: KObject[]) => void, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    let backoff = 200;
    while (!signal.aborted) {
      try {
        const list = await this.get(`${path}?${query}`);
        onSync((list['items'] as KObject[] | undefined) ?? []);
        let rv = String(list['metadata']?.['resourceVersion'] ?? '');
        backoff = 200;
        for (;;) {
          const next = await this.#watchOnce(path, `${query}&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`, onEvent, signal);
          if (next === undefined || signal.aborted) break; // 410 Gone or aborted: re-list
          rv = next;
        }
      } catch {
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** One watch request; resolves with the last resourceVersion seen, or undefined when the server says 410. */
  #watchOnce(path: string, query: string, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let rv: string | undefined = /resourceVersion=([^&]*)/.exec(query)?.[1];
      let gone = false;
      const req = request(this.#options('GET', `${path}?${query}`, { accept: 'application/json' }), (res) => {
        if (res.statusCode === 410) {
          res.resume();
          return resolve(undefined);
        }
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line) as WatchEvent;
            if (ev.type === 'ERROR') {
              if (ev.object['code'] === 410) gone = true;
              continue;
            }
            const v = ev.object['metadata']?.['resourceVersion'];
            if (typeof v === 'string') rv = v;
            if (ev.type !== 'BOOKMARK') onEvent(ev);
          }
        });
        res.on('end', () => resolve(gone ? undefined : rv));
        res.on('error', reject);
      });
      const abort = () => req.destroy();
      signal.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', abort));
      req.on('error', (err) => (signal.aborted ? resolve(undefined) : reject(err)));
      req.end();
    });
  }
}
