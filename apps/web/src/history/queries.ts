// The PromQL behind the history charts: a workload's (or pod's, or namespace's) inbound traffic as its own proxies
// report it, the proxies' admin port left out (probes and scrapes are not traffic), over a rate window of at least
// a minute so one missed scrape does not break the line.
import { BadRequestError } from '../errors.ts';
import type { HistorySeriesName } from '../api-types.ts';

/** Resource types with proxies of their own, and the Prometheus label that names them (Linkerd viz's relabelling). */
export const HISTORY_TYPES: Readonly<Record<string, { readonly type: string; readonly label: string }>> = {
  deploy: { type: 'deployment', label: 'deployment' },
  deployment: { type: 'deployment', label: 'deployment' },
  sts: { type: 'statefulset', label: 'statefulset' },
  statefulset: { type: 'statefulset', label: 'statefulset' },
  ds: { type: 'daemonset', label: 'daemonset' },
  daemonset: { type: 'daemonset', label: 'daemonset' },
  job: { type: 'job', label: 'k8s_job' },
  po: { type: 'pod', label: 'pod' },
  pod: { type: 'pod', label: 'pod' },
  ns: { type: 'namespace', label: 'namespace' },
  namespace: { type: 'namespace', label: 'namespace' },
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface HistoryTarget {
  readonly type: string;
  readonly label: string;
  readonly namespace: string;
  readonly name: string;
}

/** `deploy/web` in namespace `emojivoto`, checked so that nothing but a Kubernetes name reaches the PromQL. */
export function parseHistoryTarget(resource: string | undefined, namespace: string | undefined): HistoryTarget {
  if (!resource) throw new BadRequestError('parameter "resource" is required (e.g. deploy/web)');
  const slash = resource.indexOf('/');
  const kind = slash < 0 ? resource : resource.slice(0, slash);
  const name = slash < 0 ? '' : resource.slice(slash + 1);
  const t = HISTORY_TYPES[kind];
  if (!t) throw new BadRequestError(`invalid resource "${resource}": history is kept for deploy, sts, ds, job, po and ns`);
  if (t.type === 'namespace') {
    const ns = name || namespace || '';
    if (!DNS_LABEL.test(ns)) throw new BadRequestError(`invalid resource "${resource}": expected ns/NAME`);
    return { ...t, namespace: ns, name: ns };
  }
  if (!name || name.length > 253 || !DNS_SUBDOMAIN.test(name)) throw new BadRequestError(`invalid resource "${resource}": expected TYPE/NAME with a Kubernetes name`);
  if (!namespace) throw new BadRequestError('parameter "namespace" is required for a named workload');
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) throw new BadRequestError(`invalid namespace "${namespace}"`);
  return { ...t, namespace, name };
}

/** Range and step: the last hour by default, at most a day; about 240 points whatever the range. */
export function parseRange(text: string | undefined): { rangeSeconds: number; stepSeconds: number } {
  const m = /^(\d+)(m|h)$/.exec(text ?? '1h');
  const seconds = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : 60) : NaN;
  if (!(seconds >= 300 && seconds <= 86_400)) throw new BadRequestError(`invalid range "${text}": expected minutes or hours from 5m to 24h (e.g. 1h)`);
  return { rangeSeconds: seconds, stepSeconds: Math.max(5, Math.round(seconds / 240)) };
}

export function historyQueries(t: HistoryTarget, adminPort: number, stepSeconds: number): Readonly<Record<HistorySeriesName, string>> {
  const m = [`direction="inbound"`, `target_port!="${adminPort}"`, `namespace=${JSON.stringify(t.namespace)}`];
  if (t.type !== 'namespace') m.push(`${t.label}=${JSON.stringify(t.name)}`);
  const sel = m.join(',');
  const w = `${Math.max(60, stepSeconds * 2)}s`;
  const all = `sum(rate(response_total{${sel}}[${w}]))`;
  const q = (p: string) => `histogram_quantile(${p}, sum(rate(response_latency_ms_bucket{${sel}}[${w}])) by (le))`;
  return {
    successRate: `sum(rate(response_total{${sel},classification="success"}[${w}])) / ${all}`,
    rps: all,
    p50: q('0.5'),
    p95: q('0.95'),
    p99: q('0.99'),
  };
}
