// identity end to end over real gRPC and HTTP, with a scripted token reviewer (the real TokenReview is
// covered by certify.cluster.spec.ts): status codes, the request size limit, metrics, readiness, issuer
// reload and refusal, and draining on shutdown.
import { X509Certificate } from 'node:crypto';
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { createIssuer, createTrustAnchor, verifyChain } from '@trellis/pki';
import { IdentityClient, timestampToDate } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenReviewFailedError } from '../src/certify/errors.ts';
import type { TokenReview, TokenReviewer } from '../src/certify/token-reviewer.ts';
import { codeOf, identityFor, metric, proxyCsr, RecordingEvents, startIdentity, type TestIdentity } from './harness.ts';
import { eventually, makeAnchorAndIssuer, rotateIssuer, writeAtomically, writeIdentityDirs } from './pki-fixtures.ts';

const WEB = identityFor('emojivoto', 'web');
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.web-token-claims.web-token-signature';

class ScriptedReviewer implements TokenReviewer {
  gate: Promise<void> | undefined;
  calls = 0;
  async review(token: string): Promise<TokenReview> {
    this.calls++;
    if (this.gate) await this.gate;
    if (token === TOKEN) return { authenticated: true, username: 'system:serviceaccount:emojivoto:web' };
    if (token === 'explode') throw new TokenReviewFailedError('TokenReview failed: connect ECONNREFUSED 127.0.0.1:6443');
    if (token === 'bug') throw new TypeError('cannot read properties of undefined');
    return { authenticated: false, error: 'invalid bearer token' };
  }
}

let running: TestIdentity | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

async function setup(opts: { events?: RecordingEvents } = {}) {
  const { anchor, issuer } = await makeAnchorAndIssuer();
  const dirs = await writeIdentityDirs(anchor, issuer);
  const reviewer = new ScriptedReviewer();
  running = await startIdentity({ dirs, reviewer, ...(opts.events ? { events: opts.events } : {}) });
  return { anchor, issuer, dirs, reviewer, id: running };
}

describe('identity over gRPC', () => {
  it('answers Certify with the DER leaf, the issuer chain and valid_until', async () => {
    const { anchor, issuer, id } = await setup();
    const { csr } = await proxyCsr(WEB);
    const res = await id.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr });
    const leaf = new X509Certificate(res.leafCertificate);
    expect(leaf.subjectAltName).toBe(`DNS:${WEB}`);
    expect(res.intermediateCertificates).toEqual([Buffer.from(issuer.certificate)]);
    expect(timestampToDate(res.validUntil ?? { seconds: 0n, nanos: 0 })).toEqual(leaf.validToDate);
    expect(verifyChain(res.leafCertificate, res.intermediateCertificates, [anchor.certificate]).path).toHaveLength(3);
  });

  it('maps each failure to its status and keeps serving', async () => {
    const { id } = await setup();
    const { csr } = await proxyCsr(WEB);
    const ok = { identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr };
    const voting = identityFor('emojivoto', 'voting');
    const votingCsr = (await proxyCsr(voting)).csr;
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['empty request', () => id.certify({}), status.INVALID_ARGUMENT],
      ['garbage token', () => id.certify({ ...ok, token: Buffer.from('garbage') }), status.INVALID_ARGUMENT],
      ['garbage CSR', () => id.certify({ ...ok, certificateSigningRequest: Buffer.from('garbage bytes') }), status.INVALID_ARGUMENT],
      ['CSR for another identity', () => id.certify({ ...ok, certificateSigningRequest: votingCsr }), status.FAILED_PRECONDITION],
      ['identity of another service account', () => id.certify({ ...ok, identity: voting, certificateSigningRequest: votingCsr }), status.FAILED_PRECONDITION],
      ['API server unreachable', () => id.certify({ ...ok, token: Buffer.from('explode') }), status.INTERNAL],
      ['a bug', () => id.certify({ ...ok, token: Buffer.from('bug') }), status.INTERNAL],
      ['bytes that are not a CertifyRequest', () => id.certifyRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), status.INVALID_ARGUMENT],
      ['a 1 MB request', () => id.certify({ ...ok, token: Buffer.alloc(1024 * 1024, 0x61) }), status.RESOURCE_EXHAUSTED],
    ];
    const got: Array<[string, number | 'ok']> = [];
    for (const [name, call] of cases) got.push([name, await codeOf(call())]);
    expect(got).toEqual(cases.map(([name, , code]) => [name, code]));
    expect(await codeOf(id.certify(ok))).toBe('ok');
  });

  it('tells the caller what was wrong without echoing the token or internal details', async () => {
    const { id } = await setup();
    const { csr } = await proxyCsr(WEB);
    await expect(id.certify({ identity: WEB, token: Buffer.from('explode'), certificateSigningRequest: csr })).rejects.toMatchObject({
      details: 'TokenReview failed: connect ECONNREFUSED 127.0.0.1:6443',
    });
    await expect(id.certify({ identity: WEB, token: Buffer.from('bug'), certificateSigningRequest: csr })).rejects.toMatchObject({ details: 'internal error' });
    await expect(id.certify({ identity: WEB, token: Buffer.from('s3cr3t-token'), certificateSigningRequest: csr })).rejects.toMatchObject({
      details: 'invalid token: invalid bearer token',
    });
  });

  it('counts calls by result, times them and exports issuer and anchor expiry', async () => {
    const { anchor, issuer, id } = await setup();
    const { csr } = await proxyCsr(WEB);
    await id.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr });
    await codeOf(id.certify({}));
    const { text } = await id.admin('/metrics');
    expect(metric(text, 'identity_certify_total{result="ok"}')).toBe(1);
    expect(metric(text, 'identity_certify_total{result="invalid_argument"}')).toBe(1);
    expect(metric(text, 'identity_certify_duration_seconds_count{result="ok"}')).toBe(1);
    expect(metric(text, 'identity_issuer_expiry_timestamp_seconds')).toBe(new X509Certificate(issuer.certificate).validToDate.getTime() / 1000);
    expect(metric(text, 'identity_trust_anchors_expiry_timestamp_seconds')).toBe(new X509Certificate(anchor.certificate).validToDate.getTime() / 1000);
    expect(metric(text, 'issuer_cert_ttl_seconds')).toBeGreaterThan(364 * 86_400);
    expect(metric(text, 'identity_issuer_reloads_total{result="accepted"}')).toBe(1);
  });

  it('writes structured logs that never contain the token or the issuer key', async () => {
    const { issuer, id } = await setup();
    const { csr } = await proxyCsr(WEB);
    await id.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr });
    await codeOf(id.certify({ identity: WEB, token: Buffer.from('a-secret-token-value'), certificateSigningRequest: csr }));
    const issued = id.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r['msg'] === 'issued certificate');
    expect(issued).toMatchObject({ level: 'info', component: 'identity', identity: WEB, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const all = id.logs.join('\n');
    expect(all).not.toContain('web-token-signature');
    expect(all).not.toContain('a-secret-token-value');
    expect(all).not.toContain('PRIVATE KEY');
    const keyBody = issuer.privateKeyPem.split('\n')[1] as string;
    expect(all).not.toContain(keyBody);
  });
});

describe('listening', () => {
  it('serves Certify and the admin server on every interface when the address has no host', async () => {
    const { anchor, issuer } = await makeAnchorAndIssuer();
    const dirs = await writeIdentityDirs(anchor, issuer);
    running = await startIdentity({ dirs, reviewer: new ScriptedReviewer(), args: ['--addr', ':0', '--admin-addr', ':0'] });
    const { csr } = await proxyCsr(WEB);
    const req = { identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr };
    // The local proxy dials `localhost.:8080`, which may resolve to either family.
    const hosts = ['127.0.0.1', ...(await hasIpv6Loopback() ? ['[::1]'] : [])];
    for (const host of hosts) {
      const client = new IdentityClient(`${host}:${running.app.grpcPort}`, credentials.createInsecure());
      const code = await codeOf(new Promise((resolve, reject) => client.certify(req, (e, r) => (e ? reject(e) : resolve(r)))));
      client.close();
      expect([host, code]).toEqual([host, 'ok']);
      expect((await fetch(`http://${host}:${running.app.adminPort}/ping`)).status).toBe(200);
    }
  });
});

async function hasIpv6Loopback(): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().once('error', () => resolve(false)).listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

describe('identity admin server', () => {
  it('answers /ping, and /ready only while a valid issuer is loaded', async () => {
    const { anchor } = await makeAnchorAndIssuer();
    const stranger = await createTrustAnchor({ commonName: 'stranger' });
    const rogue = await createIssuer({ commonName: 'rogue', parent: stranger });
    const dirs = await writeIdentityDirs(anchor, rogue);
    const events = new RecordingEvents();
    running = await startIdentity({ dirs, reviewer: new ScriptedReviewer(), events });
    expect(await running.admin('/ping')).toEqual({ status: 200, text: 'pong\n' });
    expect((await running.admin('/ready')).status).toBe(503);
    const { csr } = await proxyCsr(WEB);
    expect(await codeOf(running.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr }))).toBe(status.UNAVAILABLE);
    expect(events.events).toEqual([{ type: 'Warning', reason: 'IssuerValidationFailed', message: 'Refused identity issuer: certificate "rogue" does not chain to any of the 1 trust anchor(s)' }]);

    await rotateIssuer(dirs, await createIssuer({ commonName: 'good', parent: anchor }));
    await eventually(async () => ((await running?.admin('/ready'))?.status === 200 ? true : undefined), 10_000, '/ready');
    expect(await codeOf(running.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr }))).toBe('ok');
  });
});

describe('issuer reload', () => {
  it('signs with a rotated issuer, and refuses a bad one while the old one keeps signing', async () => {
    const events = new RecordingEvents();
    const { anchor, dirs, id } = await setup({ events });
    const { csr } = await proxyCsr(WEB);
    const call = () => id.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr });
    const issuerOf = async () => new X509Certificate((await call()).leafCertificate).issuer;

    const second = await createIssuer({ commonName: 'second', parent: anchor });
    await rotateIssuer(dirs, second);
    await eventually(async () => ((await issuerOf()) === 'CN=second' ? true : undefined), 10_000, 'leaves from the second issuer');
    expect(events.events.at(-1)).toMatchObject({ type: 'Normal', reason: 'IssuerUpdated' });

    const other = await createIssuer({ commonName: 'third', parent: anchor });
    await writeAtomically(dirs.issuerDir, { 'crt.pem': second.certificatePem, 'key.pem': other.privateKeyPem }); // a mismatched pair
    await eventually(() => (events.events.at(-1)?.reason === 'IssuerValidationFailed' ? true : undefined), 10_000, 'the refusal event');
    expect(events.events.at(-1)?.message).toBe('Refused identity issuer: issuer key does not match the issuer certificate');
    expect(await issuerOf()).toBe('CN=second');
    expect((await id.admin('/ready')).status).toBe(200);
    const { text } = await id.admin('/metrics');
    expect(metric(text, 'identity_issuer_reloads_total{result="refused"}')).toBe(1);
    expect(id.logs.some((l) => l.includes('"level":"error"') && l.includes('refused new issuer'))).toBe(true);
  });
});

describe('shutdown', () => {
  it('lets in-flight calls finish, turns /ready off and stops accepting', async () => {
    const { id, reviewer } = await setup();
    const { csr } = await proxyCsr(WEB);
    let release = () => undefined as void;
    reviewer.gate = new Promise<void>((r) => (release = r));
    const inFlight = id.certify({ identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr });
    await eventually(() => (reviewer.calls > 0 ? true : undefined), 10_000, 'the call to reach the server');
    const stopped = id.app.stop(10_000);
    running = undefined;
    await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${id.app.adminPort}/ready`).catch(() => undefined);
      return r === undefined || r.status === 503 ? true : undefined;
    });
    release();
    await expect(inFlight).resolves.toMatchObject({ leafCertificate: expect.any(Buffer) });
    await stopped;
    const late = new IdentityClient(id.address, credentials.createInsecure());
    const req = { identity: WEB, token: Buffer.from(TOKEN), certificateSigningRequest: csr };
    const code = await codeOf(new Promise((resolve, reject) => late.certify(req, new Metadata(), { deadline: Date.now() + 2000 }, (e, r) => (e ? reject(e) : resolve(r)))));
    late.close();
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(code);
    id.client.close();
  });
});
