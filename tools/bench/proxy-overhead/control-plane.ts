// The control plane of the benchmark's meshed path, one process per pod namespace on 127.0.0.1 (the proxies
// speak plaintext to a loopback control-plane address): Identity/Certify signing real CSRs with libs/pki's
// CertificateAuthority (the issuer the bench generated), and a Destination whose GetProfile/Get answers are
// read from a JSON file (the meshed service's endpoint with its identity and the h2 hint). Unknown paths get
// NotFound, as destination answers for unknown Services.
//
//   node control-plane.ts --listen 127.0.0.1:8086 --pki <dir with crt.pem key.pem ca-bundle.crt> --tokens <json>
//     --destination <json>
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { CertificateAuthority, parseCsr } from '@trellis/pki';
import { DestinationService, IdentityService, destination, tcpAddress, timestampFromDate, type DestinationServer, type IdentityServer } from '@trellis/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What the bench writes for the destination: the service name a profile lookup ("ip:port") resolves to, and
 * each service's ("fqn:port") endpoints, all meshed with the h2 hint.
 */
export interface DestinationScript {
  readonly profiles: Record<string, string>;
  readonly services: Record<string, { readonly ip: string; readonly port: number; readonly identity: string }[]>;
}

const { values: args } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:8086' },
    pki: { type: 'string' },
    // {"<token>": "<identity>"}: the tokens Certify accepts and the identity each may request.
    tokens: { type: 'string' },
    destination: { type: 'string' },
  },
});
if (!args.pki || !args.tokens || !args.destination) throw new Error('--pki, --tokens and --destination are required');
const pkiDir = args.pki;
const authority = CertificateAuthority.fromPem({
  certificatePem: readFileSync(join(pkiDir, 'crt.pem'), 'utf8'),
  privateKeyPem: readFileSync(join(pkiDir, 'key.pem'), 'utf8'),
  trustAnchorsPem: readFileSync(join(pkiDir, 'ca-bundle.crt'), 'utf8'),
});
const accounts = new Map(Object.entries(JSON.parse(readFileSync(args.tokens, 'utf8')) as Record<string, string>));
const script = JSON.parse(readFileSync(args.destination, 'utf8')) as DestinationScript;
const LIFETIME_MS = 24 * 3_600_000;

const identityImpl: IdentityServer = {
  certify(call, callback) {
    const req = call.request;
    if (accounts.get(req.token.toString()) !== req.identity) return callback({ code: status.FAILED_PRECONDITION, details: 'requested identity did not match provided token' });
    try {
      const issued = authority.issue(parseCsr(req.certificateSigningRequest), req.identity, { lifetimeMs: LIFETIME_MS, clockSkewMs: 10_000 });
      callback(null, {
        leafCertificate: Buffer.from(issued.der),
        intermediateCertificates: authority.chain.map((c) => Buffer.from(c)),
        validUntil: timestampFromDate(issued.notAfter),
      });
    } catch (err) {
      callback({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  },
};

const destinationImpl: DestinationServer = {
  get(call) {
    const endpoints = script.services[call.request.path];
    if (!endpoints) return void call.emit('error', { code: status.NOT_FOUND, details: `Service ${call.request.path} not found` });
    const addrs = endpoints.map((e) => ({
      addr: tcpAddress(e.ip, e.port),
      weight: 10000,
      tlsIdentity: { strategy: { $case: 'dnsLikeIdentity' as const, value: { name: e.identity } } },
      protocolHint: { protocol: { $case: 'h2' as const, value: {} } },
    }));
    call.write(destination.Update.fromPartial({ update: { $case: 'add', value: { metricLabels: { namespace: 'bench' }, addrs } } }));
  },
  getProfile(call) {
    const fqn = script.profiles[call.request.path];
    if (!fqn) return void call.emit('error', { code: status.NOT_FOUND, details: 'not found' });
    call.write(destination.DestinationProfile.fromPartial({ fullyQualifiedName: fqn }));
  },
};

const server = new Server();
server.addService(IdentityService, identityImpl);
server.addService(DestinationService, destinationImpl);
await new Promise<number>((resolve, reject) => server.bindAsync(args.listen, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
process.stdout.write(`control plane listening on ${args.listen}\n`);
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
