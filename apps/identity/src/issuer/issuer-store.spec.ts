import { writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createIssuer, createTrustAnchor } from '@trellis/pki';
import { describe, expect, it } from 'vitest';
import { makeAnchorAndIssuer, rotateIssuer, writeIdentityDirs } from '../../test/pki-fixtures.ts';
import { IssuerStore, type ReloadOutcome } from './issuer-store.ts';

async function setup() {
  const { anchor, issuer } = await makeAnchorAndIssuer();
  const dirs = await writeIdentityDirs(anchor, issuer);
  const outcomes: ReloadOutcome[] = [];
  const store = new IssuerStore({ files: dirs, onOutcome: (o) => outcomes.push(o) });
  return { anchor, issuer, dirs, store, outcomes };
}

const subjectOf = (store: IssuerStore) => new X509Certificate(store.current()?.chain[0] as Uint8Array).subject;

describe('IssuerStore', () => {
  it('is not ready before the first load and ready after a valid one', async () => {
    const { store, outcomes } = await setup();
    expect([store.current(), store.ready()]).toEqual([undefined, false]);
    expect(await store.reload()).toMatchObject({ kind: 'accepted', initial: true });
    expect(store.ready()).toBe(true);
    expect(outcomes).toHaveLength(1);
  });

  it('does not report unchanged files twice', async () => {
    const { store, outcomes } = await setup();
    await store.reload();
    expect(await store.reload()).toEqual({ kind: 'unchanged' });
    expect(outcomes).toHaveLength(1);
  });

  it('replaces the issuer with a valid successor under the same anchor', async () => {
    const { anchor, dirs, store } = await setup();
    await store.reload();
    await rotateIssuer(dirs, await createIssuer({ commonName: 'next-issuer', parent: anchor }));
    expect(await store.reload()).toMatchObject({ kind: 'accepted', initial: false });
    expect(subjectOf(store)).toBe('CN=next-issuer');
  });

  it('refuses an issuer from another root and keeps serving the old one', async () => {
    const { dirs, store, outcomes } = await setup();
    await store.reload();
    const before = store.current();
    const stranger = await createTrustAnchor({ commonName: 'stranger' });
    await rotateIssuer(dirs, await createIssuer({ commonName: 'rogue', parent: stranger }));
    expect(await store.reload()).toEqual({ kind: 'refused', reason: 'certificate "rogue" does not chain to any of the 1 trust anchor(s)', serving: true });
    expect(store.current()).toBe(before);
    expect(store.ready()).toBe(true);
    expect(await store.reload()).toEqual({ kind: 'unchanged' });
    expect(outcomes.map((o) => o.kind)).toEqual(['accepted', 'refused']);
  });

  it('refuses an issuer whose key does not match, and an expired one', async () => {
    const { anchor, issuer, dirs, store } = await setup();
    await store.reload();
    const other = await createIssuer({ commonName: 'other', parent: anchor });
    await writeFile(dirs.key, other.privateKeyPem);
    expect(await store.reload()).toMatchObject({ kind: 'refused', reason: 'issuer key does not match the issuer certificate' });
    const past = new Date(Date.now() - 7_200_000);
    await rotateIssuer(dirs, await createIssuer({ commonName: 'old', parent: anchor, notBefore: past, notAfter: new Date(past.getTime() + 3_600_000) }));
    expect(await store.reload()).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/certificate "old" expired at/) });
    expect(store.current()?.chain[0]).toEqual(issuer.certificate);
  });

  it('reports unreadable files by path without giving up the current issuer', async () => {
    const { anchor, issuer } = await makeAnchorAndIssuer();
    const dirs = await writeIdentityDirs(anchor, issuer);
    const store = new IssuerStore({ files: { ...dirs, key: `${dirs.issuerDir}/missing.pem` } });
    expect(await store.reload()).toEqual({ kind: 'refused', reason: `cannot read ${dirs.issuerDir}/missing.pem: ENOENT`, serving: false });
    expect(store.ready()).toBe(false);
  });

  it('coalesces reloads requested while one runs into one more pass', async () => {
    const { anchor, dirs, store } = await setup();
    await store.reload();
    const first = store.reload();
    await rotateIssuer(dirs, await createIssuer({ commonName: 'latest', parent: anchor }));
    const second = store.reload();
    await Promise.all([first, second]);
    expect(subjectOf(store)).toBe('CN=latest');
  });

  it('is not ready once the loaded issuer has expired', async () => {
    const { anchor, issuer } = await makeAnchorAndIssuer();
    const dirs = await writeIdentityDirs(anchor, issuer);
    let now = new Date();
    const store = new IssuerStore({ files: dirs, now: () => now });
    await store.reload();
    now = new Date(new X509Certificate(issuer.certificate).validToDate.getTime() + 1000);
    expect(store.ready()).toBe(false);
  });
});
