import { describe, expect, it } from 'vitest';
import { historyQueries, parseHistoryTarget, parseRange } from './queries.ts';

describe('historyQueries', () => {
  it("reads a deployment's inbound series without the proxy's admin port, over a rate window of at least a minute", () => {
    const q = historyQueries(parseHistoryTarget('deploy/voting', 'emojivoto'), 4191, 15);
    const sel = 'direction="inbound",target_port!="4191",namespace="emojivoto",deployment="voting"';
    expect(q.rps).toBe(`sum(rate(response_total{${sel}}[60s]))`);
    expect(q.successRate).toBe(`sum(rate(response_total{${sel},classification="success"}[60s])) / sum(rate(response_total{${sel}}[60s]))`);
    expect(q.p99).toBe(`histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{${sel}}[60s])) by (le))`);
  });

  it('names a job by k8s_job and a namespace by its label alone, and widens the window for long steps', () => {
    expect(historyQueries(parseHistoryTarget('job/migrate', 'db'), 4191, 15).rps).toContain('k8s_job="migrate"');
    const ns = historyQueries(parseHistoryTarget('ns/emojivoto', undefined), 4191, 360).rps;
    expect(ns).toBe('sum(rate(response_total{direction="inbound",target_port!="4191",namespace="emojivoto"}[720s]))');
  });
});

describe('parseHistoryTarget', () => {
  it('refuses anything that is not a known type and a Kubernetes name, so nothing else reaches the PromQL', () => {
    expect(() => parseHistoryTarget(undefined, 'x')).toThrow('parameter "resource" is required (e.g. deploy/web)');
    expect(() => parseHistoryTarget('svc/web', 'x')).toThrow('invalid resource "svc/web": history is kept for deploy, sts, ds, job, po and ns');
    expect(() => parseHistoryTarget('deploy/web"}', 'x')).toThrow('invalid resource "deploy/web"}": expected TYPE/NAME with a Kubernetes name');
    expect(() => parseHistoryTarget('deploy/web', undefined)).toThrow('parameter "namespace" is required for a named workload');
    expect(() => parseHistoryTarget('deploy/web', 'Bad_NS')).toThrow('invalid namespace "Bad_NS"');
  });
});

describe('parseRange', () => {
  it('keeps about 240 points whatever the range, from 5 minutes to a day', () => {
    expect(parseRange(undefined)).toEqual({ rangeSeconds: 3600, stepSeconds: 15 });
    expect(parseRange('6h')).toEqual({ rangeSeconds: 21_600, stepSeconds: 90 });
    expect(parseRange('5m')).toEqual({ rangeSeconds: 300, stepSeconds: 5 });
    expect(() => parseRange('2d')).toThrow('invalid range "2d": expected minutes or hours from 5m to 24h (e.g. 1h)');
    expect(() => parseRange('1m')).toThrow(/invalid range "1m"/);
  });
});
