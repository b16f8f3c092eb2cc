// A tap through the API server, for the CLI and the dashboard's server (Node only): GET on the tap API's watch path
// (tap.linkerd.io/v1alpha1, served by the tap API behind the aggregation layer, which applies the caller's
// authentication, impersonation and RBAC), one JSON TapEvent per line. Failures carry the API's Status message.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import { tap } from '@trellis/proto';

export type TapErrorCode = 'TRELLIS_ERR_TAP_FORBIDDEN' | 'TRELLIS_ERR_TAP_REFUSED' | 'TRELLIS_ERR_TAP_UNAVAILABLE' | 'TRELLIS_ERR_TAP_ANSWER';

/** The tap API refused (403: RBAC's reason) or failed the request, sent something else, or could not be reached. */
export class TapStreamError extends TrellisError {
  constructor(code: TapErrorCode, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
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

/**
 * A pod the tap could not reach while the others stream (a line of the tap API's stream beside the TapEvents):
 * Linkerd's tap API only logs it; here the user is told which pod's requests are missing, and why.
 */
export interface TapWarning {
  readonly namespace: string;
  readonly pod: string;
  readonly message: string;
}

/** How the CLI shows a warning (as kubectl shows the API server's). */
export function tapWarningText(w: TapWarning): string {
  return `Warning: pod ${w.namespace}/${w.pod} is not tapped: ${w.message} (the tap goes on with the other pods)`;
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

/**
 * Calls `onEvent` for each event (and `onWarning` for each pod the tap API could not tap while others stream) until
 * the stream ends or `signal` aborts; rejects with what went wrong.
 */
export async function streamTap(kc: KubeConfig, r: TapRequest, onEvent: (e: tap.TapEvent) => void, signal?: AbortSignal, onWarning?: (w: TapWarning) => void): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new TapStreamError('TRELLIS_ERR_TAP_UNAVAILABLE', 'the kubeconfig has no current cluster to reach the tap API through');
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
        res.on('end', () => reject(statusError(res.statusCode ?? 0, buf)));
        return;
      }
      res.on('data', (c: string) => {
        buf += c;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let e: tap.TapEvent;
          try {
            const parsed = JSON.parse(line) as unknown;
            // The tap API ends a stream whose every proxy failed with a Status line, and names a pod it could not
            // tap while others stream with a TapWarning line (a TapEvent has no kind).
            const kind = typeof parsed === 'object' && parsed !== null ? (parsed as { kind?: unknown }).kind : undefined;
            if (kind === 'Status') {
              req.destroy();
              return reject(statusError((parsed as { code?: number }).code ?? 500, line));
            }
            if (kind === 'TapWarning') {
              const w = parsed as Partial<TapWarning>;
              onWarning?.({ namespace: String(w.namespace ?? ''), pod: String(w.pod ?? ''), message: String(w.message ?? '') });
              continue;
            }
            e = tap.TapEvent.fromJSON(parsed);
          } catch (err) {
            req.destroy();
            return reject(new TapStreamError('TRELLIS_ERR_TAP_ANSWER', `the tap API sent a line that is not a TapEvent: ${(err as Error).message}`));
          }
          onEvent(e);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => (signal?.aborted ? resolve() : reject(new TapStreamError('TRELLIS_ERR_TAP_UNAVAILABLE', `the tap stream broke: ${err.message}`, err))));
    });
    req.on('error', (err) => (signal?.aborted ? resolve() : reject(new TapStreamError('TRELLIS_ERR_TAP_UNAVAILABLE', `cannot reach the Kubernetes API at ${url.host}: ${err.message}`, err))));
    req.end();
  });
}

/** A Kubernetes Status (403 with RBAC's reason, 404 for no meshed pods or no tap API) as the error to show. */
export function statusError(status: number, body: string): TapStreamError {
  let message = '';
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? '';
  } catch {
    // Not a Status: the raw text below.
  }
  if (status === 404 && (message === '' || message === 'the server could not find the requested resource')) {
    return new TapStreamError('TRELLIS_ERR_TAP_UNAVAILABLE', 'the tap API is not installed (no tap.linkerd.io APIService): install the viz extension with its tap API');
  }
  return new TapStreamError(status === 403 ? 'TRELLIS_ERR_TAP_FORBIDDEN' : 'TRELLIS_ERR_TAP_REFUSED', message || `the tap API answered ${status}: ${body.trim().slice(0, 200)}`);
}
