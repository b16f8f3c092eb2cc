// A fake identity service for the proxy's tests (apps/identity is built elsewhere): a grpc-js server that
// answers Identity/Certify the way docs/reference/linkerd-contracts.md §2.2 describes (token must be known, CSR names the identity),
// over TLS with a certificate for its own identity, and signs with a short lifetime of the test's choosing.
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { parseCsr } from '@trellis/pki';
import { IdentityService, timestampFromDate, type IdentityServer } from '@trellis/proto';
import type { MeshPki } from './mesh-pki.ts';

export interface FakeIdentity {
  readonly addr: string;
  readonly tokens: string[];
  lifetimeMs: number;
  /** When set, Certify answers with this status instead. */
  failWith: number | undefined;
  /** Tokens the fake accepts, and the identity each may request. */
  readonly accounts: Map<string, string>;
  close(): Promise<void>;
}

export const IDENTITY_SVC_NAME = 'trellis-identity.trellis.serviceaccount.identity.trellis.cluster.local';

export async function startFakeIdentity(pki: MeshPki, opts: { svcName?: string; tls?: boolean; servingPki?: MeshPki; host?: string } = {}): Promise<FakeIdentity> {
  const fake: FakeIdentity = {
    addr: '',
    tokens: [],
    lifetimeMs: 3_600_000,
    failWith: undefined,
    accounts: new Map(),
    close: async () => undefined,
  };
  const impl: IdentityServer = {
    certify(call, callback) {
      const req = call.request;
      const token = req.token.toString();
      fake.tokens.push(token);
      if (fake.failWith !== undefined) return callback({ code: fake.failWith, details: 'fake failure' });
      if (fake.accounts.get(token) !== req.identity) return callback({ code: status.FAILED_PRECONDITION, details: 'requested identity did not match provided token' });
      const csr = parseCsr(req.certificateSigningRequest);
      if (csr.dnsNames.length !== 1 || csr.dnsNames[0] !== req.identity) return callback({ code: status.FAILED_PRECONDITION, details: 'CSR must name the identity' });
      const signed = pki.signCsr(req.certificateSigningRequest, req.identity, fake.lifetimeMs);
      callback(null, { leafCertificate: Buffer.from(signed.leaf), intermediateCertificates: signed.chain.map((c) => Buffer.from(c)), validUntil: timestampFromDate(signed.notAfter) });
    },
  };
  const server = new Server();
  server.addService(IdentityService, impl);
  let creds = ServerCredentials.createInsecure();
  if (opts.tls !== false) {
    const own = await (opts.servingPki ?? pki).issue(opts.svcName ?? IDENTITY_SVC_NAME);
    creds = ServerCredentials.createSsl(null, [{ private_key: Buffer.from(own.tls.key), cert_chain: Buffer.from(own.tls.cert) }], false);
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${opts.host ?? '127.0.0.1'}:0`, creds, (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(fake, {
    addr: `${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  });
}
