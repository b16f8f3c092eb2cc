// Calls to the metrics API. Its answers, errors included ({"error":{"code","message"}} with their status), are
// passed to the browser as they are: the dashboard shows the API's own message. Only a missing or garbled answer
// becomes one of ours.
import { describeFetchError, UpstreamAnswerError, UpstreamUnreachableError } from '../errors.ts';

export interface UpstreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface MetricsApiClient {
  readonly url: string;
  /** GET `path` (e.g. /api/v1/stat) with these parameters. */
  get(path: string, params: URLSearchParams): Promise<UpstreamAnswer>;
}

export function metricsApiClient(url: string, timeoutMs: number): MetricsApiClient {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async get(path, params) {
      const target = `${base}${path}?${params.toString()}`;
      let res: Response;
      let text: string;
      try {
        res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
        text = await res.text();
      } catch (err) {
        throw new UpstreamUnreachableError('the metrics API', base, describeFetchError(err, timeoutMs), err);
      }
      try {
        return { status: res.status, body: JSON.parse(text) as unknown };
      } catch {
        throw new UpstreamAnswerError('the metrics API', base, `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120).trim()}`);
      }
    },
  };
}
