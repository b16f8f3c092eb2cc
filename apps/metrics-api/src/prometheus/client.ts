// Instant queries against Prometheus' HTTP API (POST /api/v1/query, form-encoded so long queries fit). Every
// failure becomes one of two errors naming the Prometheus URL: unreachable (no answer) or a failed query.
import { PrometheusQueryError, PrometheusUnreachableError } from '../errors.ts';

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  /** NaN when Prometheus says so (a quantile of no observations, 0/0). */
  readonly value: number;
}

export interface PrometheusClient {
  readonly url: string;
  /** An instant vector query evaluated at `time` (seconds since the epoch). */
  query(promql: string, time: number): Promise<Sample[]>;
}

interface ApiAnswer {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

export function prometheusClient(url: string, timeoutMs: number): PrometheusClient {
  const base = url.replace(/\/+$/, '');
  const endpoint = `${base}/api/v1/query`;
  return {
    url: base,
    async query(promql, time) {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ query: promql, time: time.toFixed(3), timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new PrometheusUnreachableError(base, describeFetchError(err, timeoutMs), err);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw new PrometheusUnreachableError(base, describeFetchError(err, timeoutMs), err);
      }
      let answer: ApiAnswer;
      try {
        answer = JSON.parse(text) as ApiAnswer;
      } catch {
        throw new PrometheusQueryError(base, `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120).trim()}`);
      }
      if (answer.status !== 'success') throw new PrometheusQueryError(base, `HTTP ${res.status}: ${answer.errorType ?? 'error'}: ${answer.error ?? 'no message'}`);
      if (answer.data?.resultType !== 'vector' || !Array.isArray(answer.data.result)) {
        throw new PrometheusQueryError(base, `expected an instant vector, got ${answer.data?.resultType ?? 'nothing'}`);
      }
      return answer.data.result.map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
    },
  };
}

/** fetch's errors hide the reason in `cause` (ECONNREFUSED, ENOTFOUND ...); say it plainly. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  // fetch refuses some ports outright (its "bad port" list: 1, 25, 6000 ...).
  if (e.cause?.message === 'bad port' || e.message === 'bad port') return 'fetch refuses to connect to this port (a blocked port); use another';
  if (e.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  return e.cause?.message ?? e.message ?? String(err);
}
