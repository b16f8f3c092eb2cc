// Streams a tap through the API server: GET on the tap API's watch path (the aggregation layer applies the user's
// authentication, impersonation and RBAC), one JSON TapEvent per line. Errors are the API's Status messages.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import { tap } from '@trellis/proto';

/** The tap API refused or failed the request (its Status message), or could not be reached. */
export class TapStreamError extends TrellisError {
  constructor(message: string, cause?: unknown) {
    super('TRELLIS_ERR_TAP', message, cause === undefined ? undefined : { cause });
  }
}

export interface TapRequest {
  readonly namespace: string;
  /** Plural resource (deployments, pods, namespaces, ...) and its name; a namespace tap has no name. */
  readonly resource: string;
  readonly name: string;
  readonly toResource?: string | undefined;
  readonly toNamespace?: string | undefined;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
  readonly authority?: string | undefined;
  readonly scheme?: string | undefined;
  readonly maxRps: number;
  readonly extract?: boolean;
}

/** The API path and query of a tap request. */
export function tapPath(r: TapRequest): string {
  const base = `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/${encodeURIComponent(r.namespace)}`;
  const path = r.resource === 'namespaces' ? `${base}/tap` : `${base}/${r.resource}/${encodeURIComponent(r.name)}/tap`;
  const q = new URLSearchParams();
  const add = (k: string, v: string | undefined) => {
    if (v) q.set(k, v);
  };
  add('toResource', r.toResource);
  add('toNamespace', r.toNamespace);
  add('method', r.method);
  add('path', r.path);
  add('authority', r.authority);
  add('scheme', r.scheme);
  q.set('maxRps', String(r.maxRps));
  if (r.extract) q.set('extract', 'true');
  return `${path}?${q.toString()}`;
}

/** Calls `onEvent` for each event until the stream ends or `signal` aborts; rejects with the API's message. */
export async function streamTap(kc: KubeConfig, r: TapRequest, onEvent: (e: tap.TapEvent) => void, signal?: AbortSignal): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new TapStreamError('kubeconfig has no current cluster');
  const url = new URL(`${server.replace(/\/$/, '')}${tapPath(r)}`);
  const opts: RequestOptions & { headers: Record<string, string> } = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        res.on('data', (c: string) => (buf += c));
        res.on('end', () => reject(new TapStreamError(apiMessage(res.statusCode ?? 0, buf))));
        return;
      }
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let e: tap.TapEvent;
          try {
            e = tap.TapEvent.fromJSON(JSON.parse(line));
          } catch (err) {
            req.destroy();
            reject(new TapStreamError(`the tap API sent a line that is not a TapEvent: ${(err as Error).message}`));
            return;
          }
          onEvent(e);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => (signal?.aborted ? resolve() : reject(new TapStreamError(`the tap stream broke: ${err.message}`, err))));
    });
    req.on('error', (err) => (signal?.aborted ? resolve() : reject(new TapStreamError(`cannot reach the API server at ${url.host}: ${err.message}`, err))));
    req.end();
  });
}

/** The message of a Kubernetes Status body, or the status line. */
export function apiMessage(status: number, body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return status === 404 && s.message === 'the server could not find the requested resource' ? 'the tap API is not installed (no tap.linkerd.io APIService): install the viz extension' : s.message;
  } catch {
    // Not a Status: fall through to the raw text.
  }
  return `the tap API answered ${status}: ${body.trim().slice(0, 200)}`;
}
