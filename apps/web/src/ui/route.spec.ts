import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from './route.ts';

describe('routes', () => {
  it('round-trips every page through the URL fragment', () => {
    const routes: Route[] = [
      { page: 'overview' },
      { page: 'topology' },
      { page: 'namespace', namespace: 'emojivoto' },
      { page: 'workload', namespace: 'emojivoto', type: 'deployment', name: 'voting' },
    ];
    for (const r of routes) expect(parseRoute(href(r))).toEqual(r);
  });

  it('falls back to the overview for an empty or unknown fragment', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'overview' });
  });
});
