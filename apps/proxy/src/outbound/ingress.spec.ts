import { describe, expect, it } from 'vitest';
import { ingressAuthority } from './ingress.ts';

describe('ingressAuthority', () => {
  it('takes l5d-dst-override over Host, lower-cased, with port 80 when none is given', () => {
    expect(ingressAuthority('Authors.Default.svc.cluster.local:8080', 'books.default.svc.cluster.local')).toBe('authors.default.svc.cluster.local:8080');
    expect(ingressAuthority(undefined, 'books.default.svc.cluster.local')).toBe('books.default.svc.cluster.local:80');
    expect(ingressAuthority(undefined, 'books.default.svc.cluster.local.:9090')).toBe('books.default.svc.cluster.local:9090');
  });

  it('has no name for IP literals, missing or malformed hosts and bad ports (the original destination is used)', () => {
    for (const host of [undefined, '', '10.0.0.1:80', '[::1]:80', 'a b', 'books:0', 'books:70000', 'bad_name.example']) expect(ingressAuthority(undefined, host)).toBeUndefined();
  });
});
