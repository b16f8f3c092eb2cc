// identity against the real kube-apiserver: TokenRequest tokens for real service accounts, reviewed by
// the real TokenReview API; issuer rotation under load; refusal visible as a Kubernetes Event.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import { createCsr, createIssuer, createTrustAnchor, generateKeyPair, verifyChain, type GeneratedCa } from '@trellis/pki';
import { identity as pb, timestampToDate } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeEventRecorder } from '../src/kubernetes/events.ts';
import { KubeTokenReviewer } from '../src/kubernetes/token-review.ts';
import { namespaceWithServiceAccounts, resign, tokenFor } from './cluster-tokens.ts';
import { codeOf, identityFor, proxyCsr, startIdentity, type TestIdentity } from './harness.ts';
import { eventually, makeAnchorAndIssuer, rotateIssuer, writeIdentityDirs, type IdentityDirs } from './pki-fixtures.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const DAY_MS = 86_400_000;
const SKEW_MS = 20_000;

let ns = '';
let webId = '';
let webToken = '';
let votingToken = '';
let anchor: GeneratedCa;
let issuer: GeneratedCa;
let dirs: IdentityDirs;
let reviewer: KubeTokenReviewer;
let id: TestIdentity;

beforeAll(async () => {
  ns = await namespaceWithServiceAccounts(kc, 'identity', ['web', 'voting']);
  webId = identityFor(ns, 'web');
  [webToken, votingToken] = await Promise.all([tokenFor(kc, ns, 'web'), tokenFor(kc, ns, 'voting')]);
  ({ anchor, issuer } = await makeAnchorAndIssuer());
  dirs = await writeIdentityDirs(anchor, issuer);
  reviewer = new KubeTokenReviewer(kc);
  const events = new KubeEventRecorder(kc, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'trellis-identity' });
  id = await startIdentity({ dirs, reviewer, events });
});

afterAll(async () => {
  await id?.stop(1000);
  reviewer?.close();
});

const webRequest = async (over: Partial<pb.CertifyRequest> = {}): Promise<Partial<pb.CertifyRequest>> => ({
  identity: webId,
  token: Buffer.from(webToken),
  certificateSigningRequest: (await proxyCsr(webId)).csr,
  ...over,
});

describe('Certify with real service-account tokens', () => {
  it('issues a certificate that chains to the anchor, names the identity, lives 24h ± skew and carries the issuer', async () => {
    const before = Date.now();
    const res = await id.certify(await webRequest());
    const leaf = new X509Certificate(res.leafCertificate);
    expect(leaf.subjectAltName).toBe(`DNS:${webId}`);
    expect(leaf.subject).toBe(`CN=${webId}`);
    expect(res.intermediateCertificates.map((c) => new X509Certificate(c).fingerprint256)).toEqual([new X509Certificate(issuer.certificate).fingerprint256]);
    expect(verifyChain(res.leafCertificate, res.intermediateCertificates, [anchor.certificate]).path.map((c) => c.subject)).toEqual([
      `CN=${webId}`,
      'CN=identity.trellis.cluster.local',
      'CN=root.trellis.cluster.local',
    ]);
    const lifetime = leaf.validToDate.getTime() - leaf.validFromDate.getTime();
    expect(lifetime).toBe(DAY_MS + 2 * SKEW_MS);
    expect(Math.abs(leaf.validFromDate.getTime() - (before - SKEW_MS))).toBeLessThan(3000);
    expect(timestampToDate(res.validUntil ?? { seconds: 0n, nanos: 0 })).toEqual(leaf.validToDate);
  });

  it('answers every adversarial request with its status and keeps serving', async () => {
    const otherAudience = await tokenFor(kc, ns, 'web', 'some-other-audience');
    const expired = resign(inject('clusterDir'), webToken, (c) => {
      const past = Math.floor(Date.now() / 1000) - 7200;
      Object.assign(c, { iat: past - 600, nbf: past - 600, exp: past });
    });
    const badSignature = Buffer.from((await proxyCsr(webId)).csr);
    badSignature.writeUInt8((badSignature.at(-3) ?? 0) ^ 0xff, badSignature.length - 3);
    const csr = (o: Partial<Parameters<typeof createCsr>[0]>) => createCsr({ keys: generateKeyPair(), dnsNames: [webId], ...o }).then(Buffer.from);
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['token of another service account', async () => id.certify(await webRequest({ token: Buffer.from(votingToken) })), status.FAILED_PRECONDITION],
      ['token for another audience', async () => id.certify(await webRequest({ token: Buffer.from(otherAudience) })), status.INVALID_ARGUMENT],
      ['expired token', async () => id.certify(await webRequest({ token: Buffer.from(expired) })), status.INVALID_ARGUMENT],
      ['garbage token', async () => id.certify(await webRequest({ token: Buffer.from('this is not a token') })), status.INVALID_ARGUMENT],
      ['CSR naming another identity', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ dnsNames: [identityFor(ns, 'voting')] }) })), status.FAILED_PRECONDITION],
      ['CSR with two SANs', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ dnsNames: [webId, `x.${webId}`] }) })), status.FAILED_PRECONDITION],
      ['CSR with an IP SAN', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ ipAddresses: ['10.0.0.7'] }) })), status.FAILED_PRECONDITION],
      ['CSR with a URI SAN', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ uris: [`spiffe://cluster.local/ns/${ns}/sa/web`] }) })), status.FAILED_PRECONDITION],
      ['RSA key', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ keys: generateKeyPairSync('rsa', { modulusLength: 2048 }) }) })), status.FAILED_PRECONDITION],
      ['P-384 key', async () => id.certify(await webRequest({ certificateSigningRequest: await csr({ keys: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }) }) })), status.FAILED_PRECONDITION],
      ['bad CSR signature', async () => id.certify(await webRequest({ certificateSigningRequest: badSignature })), status.INVALID_ARGUMENT],
      ['garbage CSR bytes', async () => id.certify(await webRequest({ certificateSigningRequest: Buffer.from('garbage bytes, not DER') })), status.INVALID_ARGUMENT],
      ['garbage message bytes', () => id.certifyRaw(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])), status.INVALID_ARGUMENT],
      ['empty request', () => id.certify({}), status.INVALID_ARGUMENT],
      ['1 MB request', async () => id.certify(await webRequest({ token: Buffer.alloc(1 << 20, 0x41) })), status.RESOURCE_EXHAUSTED],
    ];
    const got: Array<[string, number | 'ok']> = [];
    for (const [name, call] of cases) {
      got.push([name, await codeOf(call())]);
      expect(await codeOf(id.certify(await webRequest()))).toBe('ok');
    }
    expect(got).toEqual(cases.map(([name, , code]) => [name, code]));
  });

  it('explains a rejected token without echoing it', async () => {
    const otherAudience = await tokenFor(kc, ns, 'web', 'some-other-audience');
    const err = await id.certify(await webRequest({ token: Buffer.from(otherAudience) })).catch((e: { details: string }) => e);
    expect((err as { details: string }).details).toMatch(/^invalid token: .*audience/);
    expect((err as { details: string }).details).not.toContain(otherAudience.split('.')[2]);
    expect(id.logs.join('\n')).not.toContain(webToken.split('.')[2]);
  });
});

describe('issuer rotation under load', () => {
  it('keeps every Certify call succeeding while the issuer rotates, then signs with the new issuer; refuses a bad issuer', async () => {
    const requests = await Promise.all(Array.from({ length: 4 }, () => webRequest()));
    let stop = false;
    const failures: string[] = [];
    const issuers = new Map<string, number>();
    const loop = async (req: Partial<pb.CertifyRequest>) => {
      while (!stop) {
        try {
          const res = await id.certify(req);
          const name = new X509Certificate(res.leafCertificate).issuer;
          issuers.set(name, (issuers.get(name) ?? 0) + 1);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const loops = requests.map(loop);
    try {
      await eventually(() => ((issuers.get('CN=identity.trellis.cluster.local') ?? 0) >= 20 ? true : undefined), 20_000, 'calls before rotation');
      const next = await createIssuer({ commonName: 'rotated.identity.trellis.cluster.local', parent: anchor });
      await rotateIssuer(dirs, next);
      await eventually(() => ((issuers.get('CN=rotated.identity.trellis.cluster.local') ?? 0) >= 20 ? true : undefined), 20_000, 'leaves from the rotated issuer');

      const stranger = await createTrustAnchor({ commonName: 'stranger' });
      await rotateIssuer(dirs, await createIssuer({ commonName: 'rogue', parent: stranger }));
      const core = kc.makeApiClient(CoreV1Api);
      const refused = await eventually(async () => {
        const list = await core.listNamespacedEvent({ namespace: ns });
        return list.items.find((e) => e.reason === 'IssuerValidationFailed');
      }, 20_000, 'the IssuerValidationFailed event');
      expect(refused).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Deployment', name: 'trellis-identity' } });
      expect(refused.message).toContain('certificate "rogue" does not chain');
      const before = issuers.get('CN=rotated.identity.trellis.cluster.local') ?? 0;
      await eventually(() => ((issuers.get('CN=rotated.identity.trellis.cluster.local') ?? 0) >= before + 20 ? true : undefined), 20_000, 'more leaves from the rotated issuer');
      const updated = (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === 'IssuerUpdated');
      expect(updated).toHaveLength(1);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    expect([...issuers.keys()].sort()).toEqual(['CN=identity.trellis.cluster.local', 'CN=rotated.identity.trellis.cluster.local']);
  });
});
