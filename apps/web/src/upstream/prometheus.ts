// Range queries against Prometheus' HTTP API (POST /api/v1/query_range, form-encoded), for the history charts.
import { describeFetchError, UpstreamAnswerError, UpstreamUnreachableError } from '../errors.ts';

export interface RangeSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** [seconds since the epoch, value]; NaN where Prometheus says so (a quantile of nothing, 0/0). */
  readonly points: readonly (readonly [number, number])[];
}

export interface RangeRequest {
  readonly query: string;
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  /** Seconds. */
  readonly step: number;
}

export interface PrometheusRangeClient {
  readonly url: string;
  queryRange(r: RangeRequest): Promise<RangeSeries[]>;
}

interface ApiAnswer {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; values?: [number, string][] }[] };
}

export function prometheusRangeClient(url: string, timeoutMs: number): PrometheusRangeClient {
  const base = url.replace(/\/+$/, '');
  const endpoint = `${base}/api/v1/query_range`;
  return {
    url: base,
    async queryRange(r) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ query: r.query, start: String(r.start), end: String(r.end), step: String(r.step), timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        throw new UpstreamUnreachableError('Prometheus', base, describeFetchError(err, timeoutMs), err);
      }
      let answer: ApiAnswer;
      try {
        answer = JSON.parse(text) as ApiAnswer;
      } catch {
        throw new UpstreamAnswerError('Prometheus', base, `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120).trim()}`);
      }
      if (answer.status !== 'success') throw new UpstreamAnswerError('Prometheus', base, `HTTP ${res.status}: ${answer.errorType ?? 'error'}: ${answer.error ?? 'no message'}`);
      if (answer.data?.resultType !== 'matrix' || !Array.isArray(answer.data.result)) {
        throw new UpstreamAnswerError('Prometheus', base, `expected a range vector, got ${answer.data?.resultType ?? 'nothing'}`);
      }
      return answer.data.result.map((s) => ({ labels: s.metric ?? {}, points: (s.values ?? []).map(([t, v]) => [Number(t), Number(v)] as const) }));
    },
  };
}
