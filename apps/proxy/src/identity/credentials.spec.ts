import { generateKeyPair } from '@trellis/pki';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMeshPki, type MeshPki } from '../../test/mesh-pki.ts';
import { sanNames, verifyCertified } from './credentials.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
let pki: MeshPki;
let foreign: MeshPki;

beforeAll(async () => {
  pki = await createMeshPki();
  foreign = await createMeshPki('foreign.test');
});

describe('verifyCertified', () => {
  it('accepts a leaf for our identity that chains to the anchors and holds our key', async () => {
    const keys = generateKeyPair();
    const issued = await pki.issue(ID, { keys });
    const creds = verifyCertified({ identity: ID, leaf: issued.leaf, intermediates: issued.chain, trustAnchors: pki.trustAnchors, privateKey: keys.privateKey, now: new Date(), generation: 1 });
    expect(creds.expiry.getTime()).toBeGreaterThan(Date.now());
    expect(creds.tls.cert).toContain('BEGIN CERTIFICATE');
  });
  it('refuses a leaf for another identity', async () => {
    const keys = generateKeyPair();
    const issued = await pki.issue('other.ns.serviceaccount.identity.trellis.cluster.local', { keys });
    expect(() =>
      verifyCertified({ identity: ID, leaf: issued.leaf, intermediates: issued.chain, trustAnchors: pki.trustAnchors, privateKey: keys.privateKey, now: new Date(), generation: 1 }),
    ).toThrow(/do not include web\.emojivoto/);
  });
  it('refuses a leaf from a foreign trust anchor', async () => {
    const keys = generateKeyPair();
    const issued = await foreign.issue(ID, { keys });
    expect(() =>
      verifyCertified({ identity: ID, leaf: issued.leaf, intermediates: issued.chain, trustAnchors: pki.trustAnchors, privateKey: keys.privateKey, now: new Date(), generation: 1 }),
    ).toThrow(/does not chain/);
  });
  it('refuses an expired leaf', async () => {
    const keys = generateKeyPair();
    const issued = await pki.issue(ID, { keys, lifetimeMs: 2000 });
    expect(() =>
      verifyCertified({ identity: ID, leaf: issued.leaf, intermediates: issued.chain, trustAnchors: pki.trustAnchors, privateKey: keys.privateKey, now: new Date(Date.now() + 60_000), generation: 1 }),
    ).toThrow(/expired/);
  });
  it('refuses a leaf that holds another key', async () => {
    const issued = await pki.issue(ID);
    expect(() =>
      verifyCertified({ identity: ID, leaf: issued.leaf, intermediates: issued.chain, trustAnchors: pki.trustAnchors, privateKey: generateKeyPair().privateKey, now: new Date(), generation: 1 }),
    ).toThrow(/our public key/);
  });
});

describe('sanNames', () => {
  it('reads DNS and URI names and skips other kinds', () => {
    expect(sanNames('DNS:a.b, IP Address:10.0.0.1, URI:spiffe://td/x')).toEqual(['a.b', 'spiffe://td/x']);
    expect(sanNames(undefined)).toEqual([]);
  });
});
