// The front end's calls to its API (relative URLs, so the page works under any prefix) and a hook that polls one.
import { useEffect, useState } from 'preact/hooks';
import type { ErrorAnswer } from '../api-types.ts';

export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export async function getJson<T>(path: string, params: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  let res: Response;
  try {
    res = await fetch(`api/${path}${q.size ? `?${q.toString()}` : ''}`, { signal, headers: { accept: 'application/json' } });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('TRELLIS_ERR_DASHBOARD_UNREACHABLE', `the dashboard server does not answer: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as T | ErrorAnswer | undefined;
  if (!res.ok || body === undefined) {
    const e = (body as ErrorAnswer | undefined)?.error;
    throw new ApiError(e?.code ?? 'TRELLIS_ERR_HTTP', e?.message ?? `HTTP ${res.status} from api/${path}`);
  }
  return body as T;
}

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  /** When the data was last refreshed (ms since the epoch). */
  readonly at: number | undefined;
}

/**
 * Loads `load` now and every `everyMs` after the previous answer, keeping the last good data through a failed
 * refresh (the error is shown beside it). `key` restarts the polling when the view changes; nothing is loaded
 * while `enabled` is false (what a page needs first goes first).
 */
/** A failed load is tried again this soon even where the page refreshes less often (the history's 30 s). */
const RETRY_AFTER_ERROR_MS = 5_000;

export function usePoll<T>(key: string, everyMs: number, load: (signal: AbortSignal) => Promise<T>, enabled = true): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, at: undefined });
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ data: undefined, error: undefined, at: undefined });
    if (!enabled) return;
    const tick = async () => {
      let failed = false;
      try {
        const data = await load(ctl.signal);
        if (!ctl.signal.aborted) setState({ data, error: undefined, at: Date.now() });
      } catch (err) {
        if (ctl.signal.aborted) return;
        failed = true;
        const e = err instanceof ApiError ? err : new ApiError('TRELLIS_ERR_INTERNAL', (err as Error).message);
        setState((s) => ({ ...s, error: e }));
      }
      if (!ctl.signal.aborted) timer = setTimeout(tick, failed ? Math.min(everyMs, RETRY_AFTER_ERROR_MS) : everyMs);
    };
    void tick();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [key, enabled]);
  return state;
}
