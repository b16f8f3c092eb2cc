// Certify benchmark: certificates per second through the built identity, TokenReview against a real local
// kube-apiserver included, with 1 and 16 concurrent clients. See README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig, requestToken } from '@trellis/k8s';
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, generateKeyPair, parseCsr } from '@trellis/pki';
import { IdentityClient, identity as pb } from '@trellis/proto';
import { cpuSeconds, rssMb } from '../lib/proc.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'identity', 'main.js');
const resultsDir = join(root, 'tools', 'bench', 'results');
const CP_NS = 'trellis';
const TD = 'cluster.local';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,16' },
    kubeconfig: { type: 'string', default: process.env['TRELLIS_KUBECONFIG'] ?? '' },
    'cluster-dir': { type: 'string', default: process.env['TRELLIS_CLUSTER_DIR'] ?? '' },
  },
});
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const levels = args.concurrency.split(',').map(Number);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

const node = process.execPath;
const cluster = (cmd: string[], dir: string) => execFileSync(node, [join(root, 'tools', 'cluster', 'src', 'cli.ts'), ...cmd, '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();

/** The kube-apiserver pid of a cluster state directory, when this bench started the cluster. */
function apiServerPid(dir: string | undefined): number | undefined {
  if (!dir) return undefined;
  try {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: Array<{ name: string; pid: number }> };
    return state.processes.find((p) => p.name === 'kube-apiserver')?.pid;
  } catch {
    return undefined;
  }
}

/**
 * CPU ms for one parse + verify + sign of a leaf in this process: a fixed workload whose cost shows how much
 * the machine's other load slows everything down (compare it across runs; ~0.24 ms on an idle core here).
 */
async function calibrate(): Promise<number> {
  const root = await createTrustAnchor({ commonName: 'calibration' });
  const issuer = await createIssuer({ commonName: 'calibration issuer', parent: root });
  const ca = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [root.certificate] });
  const csr = await createCsr({ keys: generateKeyPair(), dnsNames: ['calibration.example'] });
  const n = 1000;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const parsed = parseCsr(csr);
    if (!parsed.verifySignature()) throw new Error('calibration CSR does not verify');
    ca.issue(parsed, 'calibration.example', { lifetimeMs: 3_600_000, clockSkewMs: 0 });
  }
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / 1000 / n;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  if (!existsSync(bundle)) {
    process.stderr.write('certify bench: building identity\n');
    execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['run', '@trellis/identity:build'], { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } });
  }
  const work = mkdtempSync(join(tmpdir(), 'certify-bench-'));
  // An existing cluster (--cluster-dir, or --kubeconfig alone: then the API server's CPU is not sampled),
  // else one started here and stopped at the end.
  let ownCluster: string | undefined;
  let clusterDir = args['cluster-dir'] || undefined;
  let kubeconfig = args.kubeconfig || (clusterDir ? join(clusterDir, 'kubeconfig') : '');
  if (!kubeconfig) {
    clusterDir = ownCluster = join(work, 'cluster');
    process.stderr.write('certify bench: starting a local kube-apiserver\n');
    cluster(['up', '--controllers=false'], clusterDir);
    kubeconfig = join(clusterDir, 'kubeconfig');
  }
  let identity: ChildProcess | undefined;
  try {
    const kc = loadKubeConfig({ kubeconfig });
    const core = kc.makeApiClient(CoreV1Api);
    const ns = `bench-certify-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const maxClients = Math.max(...levels);
    const accounts = Array.from({ length: maxClients }, (_, i) => `client-${i}`);
    for (const name of accounts) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    const requests = await Promise.all(
      accounts.map(async (sa) => {
        const id = `${sa}.${ns}.serviceaccount.identity.${CP_NS}.${TD}`;
        const token = await requestToken(kc, ns, sa, { audiences: ['identity.l5d.io'], expirationSeconds: 3600 });
        const csr = await createCsr({ keys: generateKeyPair(), dnsNames: [id] });
        return pb.CertifyRequest.fromPartial({ identity: id, token: Buffer.from(token), certificateSigningRequest: Buffer.from(csr) });
      }),
    );

    const anchor = await createTrustAnchor({ commonName: `root.trellis.${TD}` });
    const issuer = await createIssuer({ commonName: `identity.trellis.${TD}`, parent: anchor });
    mkdirSync(join(work, 'issuer'));
    writeFileSync(join(work, 'issuer', 'crt.pem'), issuer.certificatePem);
    writeFileSync(join(work, 'issuer', 'key.pem'), issuer.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(work, 'ca-bundle.crt'), anchor.certificatePem);

    const [port, adminPort] = [await freePort(), await freePort()];
    identity = spawn(node, [bundle, '--addr', `127.0.0.1:${port}`, '--admin-addr', `127.0.0.1:${adminPort}`, '--kubeconfig', kubeconfig,
      '--controller-namespace', CP_NS, '--identity-trust-domain', TD, '--issuer', join(work, 'issuer'), '--trust-anchors', join(work, 'ca-bundle.crt'), '--log-level', 'warn'],
      { stdio: ['ignore', 'inherit', 'inherit'] });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline || identity.exitCode !== null) throw new Error('identity did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = identity.pid as number;
    const apiPid = apiServerPid(clusterDir);
    let peakRss = rssMb(pid);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 200);

    const calibrationBefore = await calibrate();
    const runs = [];
    for (const c of levels) {
      // One channel per client with its own connection, as separate proxies would have.
      const clients = Array.from({ length: c }, () => new IdentityClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 }));
      let measuring = false;
      let stop = false;
      const latencies: number[] = [];
      let errors = 0;
      let firstError = '';
      const worker = async (i: number) => {
        const client = clients[i] as IdentityClient;
        const req = requests[i % requests.length] as pb.CertifyRequest;
        while (!stop) {
          const t0 = performance.now();
          const err = await new Promise<ServiceError | null>((resolve) => client.certify(req, (e) => resolve(e)));
          if (!measuring) continue;
          if (err) {
            errors++;
            firstError ||= `${err.code} ${err.details}`;
          } else latencies.push(performance.now() - t0);
        }
      };
      const workers = clients.map((_, i) => worker(i));
      await new Promise((r) => setTimeout(r, warmup * 1000));
      measuring = true;
      const t0 = performance.now();
      const cpu0 = [cpuSeconds(pid), cpuSeconds(apiPid), process.cpuUsage()] as const;
      await new Promise((r) => setTimeout(r, seconds * 1000));
      measuring = false;
      const elapsed = (performance.now() - t0) / 1000;
      const clientCpu = process.cpuUsage(cpu0[2]);
      const cpu = { identity: cpuSeconds(pid) - cpu0[0], apiServer: cpuSeconds(apiPid) - cpu0[1], client: (clientCpu.user + clientCpu.system) / 1e6 };
      stop = true;
      await Promise.all(workers);
      for (const cl of clients) cl.close();
      latencies.sort((a, b) => a - b);
      runs.push({
        concurrency: c,
        seconds: round(elapsed),
        certificates: latencies.length,
        certificatesPerSecond: round(latencies.length / elapsed, 1),
        errors,
        ...(firstError ? { firstError } : {}),
        // CPU per certificate is what the machine's load does not distort: elapsed rates do.
        cpuMsPerCertificate: {
          identity: round((cpu.identity * 1000) / Math.max(1, latencies.length)),
          ...(apiPid ? { apiServer: round((cpu.apiServer * 1000) / Math.max(1, latencies.length)) } : {}),
          benchClient: round((cpu.client * 1000) / Math.max(1, latencies.length)),
        },
        latencyMs: { p50: round(pct(latencies, 50)), p99: round(pct(latencies, 99)), p999: round(pct(latencies, 99.9)), max: round(latencies.at(-1) ?? NaN) },
      });
    }
    clearInterval(sampler);
    const calibrationAfter = await calibrate();
    const goal = 500;
    const best = Math.max(...runs.map((r) => r.certificatesPerSecond));
    const result = {
      benchmark: 'certify',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version, loadAverageAtEnd: loadavg().map((l) => round(l)) },
      setup: 'built identity (dist/apps/identity/main.js) as its own process; TokenReview against a local kube-apiserver over one HTTP/2 connection; one gRPC connection per client; closed loop',
      warmupSeconds: warmup,
      runs,
      identityPeakRssMb: round(peakRss, 1),
      calibrationCpuMsPerLeaf: { before: round(calibrationBefore, 3), after: round(calibrationAfter, 3) },
      goalCertificatesPerSecond: goal,
      goalMet: best >= goal,
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'certify.json'), JSON.stringify(result, null, 2) + '\n');
    const parts = runs.map(
      (r) =>
        `${r.concurrency} client${r.concurrency === 1 ? '' : 's'} ${r.certificatesPerSecond}/s p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms` +
        ` (cpu/cert: identity ${r.cpuMsPerCertificate.identity} ms${r.cpuMsPerCertificate.apiServer !== undefined ? `, apiserver ${r.cpuMsPerCertificate.apiServer} ms` : ''})${r.errors ? ` ${r.errors} errors` : ''}`,
    );
    process.stdout.write(`certify: ${parts.join('; ')}; identity peak RSS ${result.identityPeakRssMb} MB; calibration ${result.calibrationCpuMsPerLeaf.before}/${result.calibrationCpuMsPerLeaf.after} ms; goal >= ${goal}/s ${result.goalMet ? 'met' : 'NOT met'}\n`);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  } finally {
    identity?.kill('SIGTERM');
    if (ownCluster) cluster(['down'], ownCluster);
  }
}

await main();
