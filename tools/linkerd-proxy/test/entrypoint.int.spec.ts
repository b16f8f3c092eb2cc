// The entrypoint with the real linkerd2-proxy (tools/bin/linkerd2-proxy): it writes the key and the CSR, the proxy
// takes its process (exec), sends that CSR to Identity/Certify (a grpc-js server signing with libs/pki's
// CertificateAuthority, as Trellis' identity does) and turns ready with the certificate, for an identity name
// longer than 64 characters.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { CertificateAuthority, createIssuer, createTrustAnchor, encodeCertificates, parseCsr } from '@trellis/pki';
import { IdentityService, timestampFromDate, type IdentityServer } from '@trellis/proto';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const NAME = 'a-service-account-with-a-long-name.a-namespace-too.serviceaccount.identity.trellis.cluster.local';
const TOKEN = 'projected-token';
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("Linkerd's proxy image entrypoint", () => {
  it('starts linkerd2-proxy in its own process with the key and CSR it wrote; the proxy certifies that CSR and turns ready', async () => {
    const anchor = await createTrustAnchor({ commonName: 'root.linkerd.test' });
    const issuer = await createIssuer({ commonName: 'issuer.linkerd.test', parent: anchor });
    const ca = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [anchor.certificate] });
    const requests: { identity: string; token: string; cn: readonly string[]; dns: readonly string[] }[] = [];
    const impl: IdentityServer = {
      certify(call, cb) {
        const r = call.request;
        const csr = parseCsr(r.certificateSigningRequest);
        requests.push({ identity: r.identity, token: r.token.toString(), cn: csr.commonNames, dns: csr.dnsNames });
        if (r.token.toString() !== TOKEN || csr.dnsNames[0] !== r.identity) return cb({ code: status.FAILED_PRECONDITION, details: 'token or CSR does not name the identity' });
        const issued = ca.issue(csr, r.identity, { lifetimeMs: 3_600_000, clockSkewMs: 0 });
        cb(null, { leafCertificate: Buffer.from(issued.der), intermediateCertificates: ca.chain.map((c) => Buffer.from(c)), validUntil: timestampFromDate(issued.notAfter) });
      },
    };
    const server = new Server();
    server.addService(IdentityService, impl);
    // A loopback control address: linkerd2-proxy speaks to it in plaintext.
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    cleanups.push(() => server.forceShutdown());

    const dir = await mkdtemp(join(tmpdir(), 'l5d-proxy-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'token'), TOKEN);
    const [admin, inbound, outbound, control] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const env = {
      PATH: process.env['PATH'] ?? '',
      LINKERD2_PROXY_LOG: 'warn,linkerd=info',
      LINKERD2_PROXY_IDENTITY_DIR: join(dir, 'end-entity'),
      LINKERD2_PROXY_IDENTITY_LOCAL_NAME: NAME,
      LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: encodeCertificates([anchor.certificate]),
      LINKERD2_PROXY_IDENTITY_SVC_ADDR: `127.0.0.1:${port}`,
      LINKERD2_PROXY_IDENTITY_SVC_NAME: 'trellis-identity.trellis.serviceaccount.identity.trellis.cluster.local',
      // Destination and policy are not asked before the first request; readiness needs only the certificate.
      LINKERD2_PROXY_DESTINATION_SVC_ADDR: '127.0.0.1:1',
      LINKERD2_PROXY_DESTINATION_SVC_NAME: 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local',
      LINKERD2_PROXY_POLICY_SVC_ADDR: '127.0.0.1:1',
      LINKERD2_PROXY_POLICY_SVC_NAME: 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local',
      LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"default","pod":"web-0"}',
      LINKERD2_PROXY_ADMIN_LISTEN_ADDR: `127.0.0.1:${admin}`,
      LINKERD2_PROXY_INBOUND_LISTEN_ADDR: `127.0.0.1:${inbound}`,
      LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR: `127.0.0.1:${outbound}`,
      LINKERD2_PROXY_CONTROL_LISTEN_ADDR: `127.0.0.1:${control}`,
    };
    const child: ChildProcess = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });

    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${admin}/ready`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    expect(requests[0], log).toEqual({ identity: NAME, token: TOKEN, cn: [NAME], dns: [NAME] });
    // The proxy is the process the entrypoint started as (exec, not a child of it).
    expect(await readlink(`/proc/${child.pid}/exe`)).toMatch(/linkerd2-proxy$/);
  }, 40_000);
});
