import { describe, expect, it } from 'vitest';
import { collectionPath } from './resource-path.ts';

describe('collectionPath', () => {
  it('puts the core group under /api and named groups under /apis', () => {
    expect(collectionPath({ apiVersion: 'v1', kind: 'Pod', plural: 'pods' })).toBe('/api/v1/pods');
    expect(collectionPath({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices', namespace: 'emojivoto' })).toBe(
      '/apis/discovery.k8s.io/v1/namespaces/emojivoto/endpointslices',
    );
  });
});
