// Starts a real identity (gRPC + admin servers, issuer files on disk) in the test process, with a token
// reviewer and event recorder the test chooses, a log captured in memory, and a grpc-js client.
import { PassThrough } from 'node:stream';
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { parseCommandLine } from '@trellis/config';
import { createCsr, generateKeyPair, type KeyPair } from '@trellis/pki';
import { IdentityClient, identity as pb } from '@trellis/proto';
import { createLogger, createRegistry, type Registry } from '@trellis/telemetry';
import { IdentityApp } from '../src/app.ts';
import type { TokenReviewer } from '../src/certify/token-reviewer.ts';
import { identityCommand, parseIdentityConfig } from '../src/config.ts';
import type { EventRecorder, IdentityEvent } from '../src/kubernetes/events.ts';
import type { IdentityDirs } from './pki-fixtures.ts';

export const TRUST_DOMAIN = 'cluster.local';
export const CONTROL_PLANE_NS = 'trellis';
export const identityFor = (ns: string, sa: string) => `${sa}.${ns}.serviceaccount.identity.${CONTROL_PLANE_NS}.${TRUST_DOMAIN}`;

export class RecordingEvents implements EventRecorder {
  readonly events: IdentityEvent[] = [];
  async record(e: IdentityEvent): Promise<void> {
    this.events.push(e);
  }
}

export interface TestIdentity {
  readonly app: IdentityApp;
  readonly registry: Registry;
  readonly logs: string[];
  readonly client: IdentityClient;
  readonly address: string;
  certify(req: Partial<pb.CertifyRequest>): Promise<pb.CertifyResponse>;
  /** A Certify call with arbitrary bytes as the message. */
  certifyRaw(bytes: Buffer): Promise<Buffer>;
  admin(path: string): Promise<{ status: number; text: string }>;
  stop(graceMs?: number): Promise<void>;
}

export async function startIdentity(opts: {
  dirs: IdentityDirs;
  reviewer: TokenReviewer;
  events?: EventRecorder;
  args?: string[];
  pollIntervalMs?: number;
}): Promise<TestIdentity> {
  const cli = parseCommandLine(identityCommand, [
    '--addr', '127.0.0.1:0',
    '--admin-addr', '127.0.0.1:0',
    '--controller-namespace', CONTROL_PLANE_NS,
    '--identity-trust-domain', TRUST_DOMAIN,
    '--issuer', opts.dirs.issuerDir,
    '--trust-anchors', opts.dirs.trustAnchors,
    '--log-level', 'debug',
    ...(opts.args ?? []),
  ]);
  if (cli.kind !== 'run') throw new Error('bad test arguments');
  const config = parseIdentityConfig(cli.values, cli.explicit, {});
  const logs: string[] = [];
  const out = new PassThrough();
  out.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const registry = createRegistry({ processMetrics: false });
  const app = await IdentityApp.start({
    config,
    log: createLogger({ name: 'identity', level: 'debug', format: 'json', destination: out }),
    registry,
    reviewer: opts.reviewer,
    ...(opts.events ? { events: opts.events } : {}),
    pollIntervalMs: opts.pollIntervalMs ?? 0,
  });
  const address = `127.0.0.1:${app.grpcPort}`;
  const client = new IdentityClient(address, credentials.createInsecure());
  const raw = new Client(address, credentials.createInsecure());
  return {
    app,
    registry,
    logs,
    client,
    address,
    certify: (req) =>
      new Promise((resolve, reject) =>
        client.certify(pb.CertifyRequest.fromPartial(req), (err: ServiceError | null, res: pb.CertifyResponse) => (err ? reject(err) : resolve(res))),
      ),
    certifyRaw: (bytes) =>
      new Promise((resolve, reject) =>
        raw.makeUnaryRequest(
          '/io.linkerd.proxy.identity.Identity/Certify',
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          (err, res) => (err ? reject(err) : resolve(res as Buffer)),
        ),
      ),
    admin: async (path) => {
      const res = await fetch(`http://127.0.0.1:${app.adminPort}${path}`);
      return { status: res.status, text: await res.text() };
    },
    stop: async (graceMs = 5000) => {
      client.close();
      raw.close();
      await app.stop(graceMs);
    },
  };
}

/** A proxy-style CSR for `id` (CN and one DNS SAN) and the key it was made with. */
export async function proxyCsr(id: string, keys: KeyPair = generateKeyPair()): Promise<{ csr: Buffer; keys: KeyPair }> {
  return { csr: Buffer.from(await createCsr({ keys, dnsNames: [id] })), keys };
}

/** The gRPC status code of a rejected promise, or 'ok'. */
export async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as ServiceError).code;
  }
}

/** The value of one series in Prometheus text, e.g. metric(text, 'identity_certify_total{result="ok"}'). */
export function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
