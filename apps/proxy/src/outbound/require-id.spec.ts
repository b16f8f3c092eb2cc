import { describe, expect, it } from 'vitest';
import type { MeshEndpoint } from '../discovery/outbound.ts';
import { requiredIdentity } from './require-id.ts';

const endpoint = (identity: string | undefined) => ({ endpoint: { identity } }) as unknown as MeshEndpoint;

describe('requiredIdentity', () => {
  it('lets a request without l5d-require-id, or with the endpoint identity, through', () => {
    expect(requiredIdentity(undefined, endpoint('books.ns.serviceaccount.identity.l5d.cluster.local'))).toBeUndefined();
    expect(requiredIdentity(' books.ns.serviceaccount.identity.l5d.cluster.local ', endpoint('books.ns.serviceaccount.identity.l5d.cluster.local'))).toBeUndefined();
  });

  it('refuses with 502 an endpoint of another identity or none, naming both', () => {
    const other = requiredIdentity('books.ns', endpoint('authors.ns'));
    expect(other).toMatchObject({ httpStatus: 502, code: 'TRELLIS_ERR_IDENTITY_REQUIRED' });
    expect(other?.message).toContain("'books.ns' but the endpoint is 'authors.ns'");
    expect(requiredIdentity(['books.ns'], endpoint(undefined))?.message).toContain('not meshed');
  });
});
