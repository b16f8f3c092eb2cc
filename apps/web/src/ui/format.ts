// How numbers read on the dashboard: the same formats everywhere, "-" for nothing measured.

export const DASH = '-';

export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return DASH;
  // 99.95 % must not read as 100 %: only a rate of exactly one is shown as 100.
  const p = rate * 100;
  if (rate < 1 && p > 99.9) return '99.9%';
  return `${p.toFixed(p === 100 ? 0 : 1)}%`;
}

export function rps(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (value === 0) return '0';
  if (value < 0.1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  return value.toFixed(1);
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export type Health = 'good' | 'warn' | 'bad' | 'none';

/** Success rate classes: all good, some failures, many failures. */
export function health(rate: number | null | undefined): Health {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return 'none';
  if (rate >= 0.995) return 'good';
  if (rate >= 0.9) return 'warn';
  return 'bad';
}

const SHORT: Readonly<Record<string, string>> = { deployment: 'deploy', statefulset: 'sts', daemonset: 'ds', job: 'job', pod: 'po', namespace: 'ns' };

/** The API's short resource name: deployment to deploy. */
export function shortType(type: string): string {
  return SHORT[type] ?? type;
}

export const WORKLOAD_TYPES: readonly string[] = ['deployment', 'statefulset', 'daemonset', 'job'];

// Written as escapes: htm reads its templates raw, so an HTML entity would show as typed, and the bundle stays ASCII.
export const CHECK = '\u2713';
export const DOT = '\u00b7';
