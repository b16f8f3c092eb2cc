import { describe, expect, it } from 'vitest';
import { grafanaLink } from './grafana.ts';

describe('grafanaLink', () => {
  it('links namespaces, deployments and pods to their dashboards with the variables set', () => {
    expect(grafanaLink('http://grafana:3000', 'emojivoto')).toBe('http://grafana:3000/d/trellis-namespace/?var-namespace=emojivoto');
    expect(grafanaLink('http://grafana:3000', 'emojivoto', 'deployment', 'web')).toBe('http://grafana:3000/d/trellis-deployment/?var-namespace=emojivoto&var-deployment=web');
  });

  it('gives nothing without a Grafana URL or for a type with no dashboard', () => {
    expect(grafanaLink(null, 'emojivoto')).toBeUndefined();
    expect(grafanaLink('http://g', 'emojivoto', 'statefulset', 'db')).toBeUndefined();
  });
});
