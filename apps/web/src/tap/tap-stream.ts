// A tap through the API server for the dashboard: GET on the tap API's watch path (tap.linkerd.io/v1alpha1, served
// by the tap API behind the aggregation layer, which authorizes the dashboard's service account), one JSON TapEvent
// per line. Failures carry the API's Status message.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { tap } from '@trellis/proto';
import { TapError } from '../errors.ts';

export interface TapTarget {
  readonly namespace: string;
  /** Plural resource: deployments, statefulsets, daemonsets, jobs, pods. */
  readonly resource: string;
  readonly name: string;
  readonly maxRps: number;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
}

export function tapPath(t: TapTarget): string {
  const q = new URLSearchParams({ maxRps: String(t.maxRps) });
  if (t.method) q.set('method', t.method);
  if (t.path) q.set('path', t.path);
  return `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/${encodeURIComponent(t.namespace)}/${t.resource}/${encodeURIComponent(t.name)}/tap?${q.toString()}`;
}

/** Calls `onEvent` for each event until the stream ends or `signal` aborts; rejects with what went wrong. */
export async function streamTap(kc: KubeConfig, t: TapTarget, onEvent: (e: tap.TapEvent) => void, signal: AbortSignal): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new TapError('TRELLIS_ERR_TAP_UNAVAILABLE', 'the dashboard has no Kubernetes API server to reach the tap API through');
  const url = new URL(`${server.replace(/\/$/, '')}${tapPath(t)}`);
  const opts: RequestOptions & { headers: Record<string, string> } = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, signal }, (res) => {
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
            e = tap.TapEvent.fromJSON(JSON.parse(line));
          } catch (err) {
            req.destroy();
            return reject(new TapError('TRELLIS_ERR_TAP_ANSWER', `the tap API sent a line that is not a TapEvent: ${(err as Error).message}`));
          }
          onEvent(e);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => (signal.aborted ? resolve() : reject(new TapError('TRELLIS_ERR_TAP_UNAVAILABLE', `the tap stream broke: ${err.message}`))));
    });
    req.on('error', (err) => (signal.aborted ? resolve() : reject(new TapError('TRELLIS_ERR_TAP_UNAVAILABLE', `cannot reach the Kubernetes API at ${url.host}: ${err.message}`))));
    req.end();
  });
}

/** A Kubernetes Status (403 with RBAC's reason, 404 for no meshed pods or no tap API) as the error the page shows. */
function statusError(status: number, body: string): TapError {
  let message = '';
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? '';
  } catch {
    // not a Status
  }
  if (status === 404 && (message === '' || message === 'the server could not find the requested resource')) {
    return new TapError('TRELLIS_ERR_TAP_UNAVAILABLE', 'the tap API is not installed (no tap.linkerd.io APIService): install the viz extension with its tap API');
  }
  return new TapError(status === 403 ? 'TRELLIS_ERR_TAP_FORBIDDEN' : 'TRELLIS_ERR_TAP_REFUSED', message || `the tap API answered ${status}: ${body.trim().slice(0, 200)}`);
}
