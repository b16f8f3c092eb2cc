import { describe, expect, it } from 'vitest';
import { identityProblem } from './identity.ts';

describe('identityProblem', () => {
  it.each(['web.shop.serviceaccount.identity.trellis.cluster.local', '*', '*.shop.serviceaccount.identity.trellis.cluster.local', 'spiffe://trust.domain', 'spiffe://trust.domain/ns/shop/sa/web'])('accepts %s', (id) => {
    expect(identityProblem(id)).toBeUndefined();
  });

  it.each([
    ['', 'DNS-like name'],
    ['Web.Shop', 'DNS-like name'],
    ['web shop', 'DNS-like name'],
    ['web.*', 'DNS-like name'],
    ['.web.shop', 'DNS-like name'],
    ['web..shop', 'DNS-like name'],
    ['web.shop.', 'DNS-like name'],
    ['http://domain/path', 'DNS-like name'],
    ['spiffe:///path', 'no trust domain'],
    ['spiffe://domain:8080/path', 'trust domain holds only'],
    ['spiffe://user@domain/path', 'trust domain holds only'],
    ['spiffe://domain/', 'cannot end with a slash'],
    ['spiffe://domain//x', 'empty segment'],
    ['spiffe://domain/a/../b', '".." segments'],
    ['spiffe://domain/a?b=c', 'path holds only'],
  ])('refuses %j: %s', (id, message) => {
    expect(identityProblem(id)).toContain(message);
  });
});
