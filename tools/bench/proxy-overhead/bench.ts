// Proxy overhead benchmark: fortio at a constant rate through four paths in one run (direct, one outbound
// proxy, outbound + inbound proxies, and the meshed path: outbound + inbound with identity, mTLS and HTTP/2
// between the proxies), runs interleaved; then closed-loop max throughput per path. See README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, encodeCertificates, generateKeyPair, parseCsr, privateKeyToPem } from '@trellis/pki';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jaegerArgv, OTLP_ADDR, spansInJaeger } from './trace-sink.ts';
import { tapComparison, tapText, traceComparison, traceText, type PathWindows } from './variants.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const resultsDir = join(root, 'tools', 'bench', 'results');
const proxySource = join(root, 'apps', 'proxy', 'src', 'main.ts');
// A bundle like the image's (built here with esbuild and the nx target's options, without its type check): running
// the .ts source would load Node's type stripper, ~40 MiB of RSS that a deployed proxy does not carry.
const defaultProxyMain = join(root, 'dist', 'bench', 'proxy', 'main.js');
const proxyInitMain = join(root, 'apps', 'proxy-init', 'src', 'main.ts');
const controlPlaneMain = join(import.meta.dirname, 'control-plane.ts');
const floorMain = join(import.meta.dirname, 'floor', 'parser.ts');
const tapLoadMain = join(import.meta.dirname, 'tap-load.ts');
const tlsFloorMain = join(import.meta.dirname, 'floor', 'tls.ts');
// alloc-probe.ts as plain JavaScript (esbuild, at the start of an --alloc run): a .ts file would load Node's type
// stripper into every proxy, megabytes of heap that would blur the memory figures.
const allocProbeSource = join(import.meta.dirname, 'alloc-probe.ts');
const allocProbe = join(root, 'dist', 'bench', 'proxy', 'alloc-probe.mjs');
const NODE = process.execPath;

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    'payload-size': { type: 'string', default: '1024' },
    'max-seconds': { type: 'string', default: '10' },
    // Rounds of the max-throughput phase, paths interleaved in each; the figures are the rounds' medians.
    'max-runs': { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    // Results file: a name under tools/bench/results or an absolute path (a trial run can keep the figures).
    out: { type: 'string', default: 'proxy-overhead.json' },
    // Paths to measure (comma-separated), for quick trials; all by default.
    paths: { type: 'string', default: '' },
    // A script to run as the plain pair's proxies instead of the proxy bundle (floor comparisons); it gets the
    // targets in FLOOR_OUT/FLOOR_IN and must print "proxy listening".
    'proxy-main': { type: 'string', default: '' },
    // A proxy bundle built before (A/B runs while the source changes); built from apps/proxy by default.
    bundle: { type: 'string', default: '' },
    // Extra V8/Node flags for the proxies, after the image's (e.g. --node-options=--max-semi-space-size=1)
    'node-options': { type: 'string', default: '' },
    // Extra environment for our proxies, after the image's (e.g. --proxy-env=MALLOC_MMAP_THRESHOLD_=65536,A=b;
    // NAME= leaves one of the image's out).
    'proxy-env': { type: 'string', default: '' },
    // Leave out the flags of the image's ENTRYPOINT and its ENV (for before/after comparisons of them).
    'no-image-flags': { type: 'boolean', default: false },
    // A directory for every child's output (proxies, control planes, fortio servers), one file per process.
    logs: { type: 'string', default: '' },
    // Each two-proxy path of ours measured again with a tap open on both its proxies (tap-load.ts).
    tap: { type: 'boolean', default: false },
    // A meshed pair with tracing configured (Jaeger in its pods), measured with untraced and sampled traffic.
    trace: { type: 'boolean', default: false },
    // The meshed pair again with LINKERD2_PROXY_CORES=2 and TRELLIS_PROXY_WORKER_THREADS=true (worker threads sharing
    // the listeners): path meshed-cores2.
    cores: { type: 'boolean', default: false },
    // Our proxies load alloc-probe.ts: JS heap bytes allocated per request, GCs and their pauses per measured
    // window (load-independent); with --heap-sample N also the allocation sites of each proxy's first window
    // (the sampling heap profiler every N bytes). Not for memory figures: the probe loads Node's type stripper.
    alloc: { type: 'boolean', default: false },
    'heap-sample': { type: 'string', default: '0' },
  },
});
const proxyMain = args.bundle || defaultProxyMain;
// --alloc: where alloc-probe.ts in each of our proxies writes its marks (the proxies run as uid 2102).
const allocDir = args.alloc ? mkdtempSync(join(tmpdir(), 'proxy-alloc-')) : undefined;
if (allocDir) {
  chmodSync(allocDir, 0o777);
  execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), [allocProbeSource, '--platform=node', '--format=esm', '--target=node24', `--outfile=${allocProbe}`, '--log-level=warning'], { stdio: 'inherit' });
  process.stderr.write(`allocation marks and heap profiles in ${allocDir}\n`);
}

interface AllocMark {
  readonly allocatedBytes: number;
  readonly scavenges: number;
  readonly fullGcs: number;
  readonly pauseMicros: number;
  readonly fullPauseMicros: number;
  readonly maxPauseMicros: number;
}

/** Asks a proxy running alloc-probe.ts for a mark and waits for its line, so a window starts after it. */
async function allocMark(pid: number): Promise<AllocMark> {
  const file = join(allocDir as string, `${pid}.jsonl`);
  const lines = (): string[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const n = lines().length;
  process.kill(pid, 'SIGUSR2');
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 5))) {
    const l = lines();
    if (l.length > n) return JSON.parse(l[l.length - 1] as string) as AllocMark;
  }
  throw new Error(`no allocation mark from proxy ${pid} in ${file}`);
}

/** One window of one proxy: per request, and the GCs' count and pauses over it. */
function allocWindow(a: AllocMark, b: AllocMark, requests: number, seconds: number) {
  return {
    bytesPerRequest: Math.round((b.allocatedBytes - a.allocatedBytes) / requests),
    scavenges: b.scavenges - a.scavenges,
    fullGcs: b.fullGcs - a.fullGcs,
    gcPauseMsPerSecond: round((b.pauseMicros - a.pauseMicros) / 1000 / seconds, 2),
    fullGcPauseMsPerSecond: round((b.fullPauseMicros - a.fullPauseMicros) / 1000 / seconds, 2),
    maxGcPauseMs: round(b.maxPauseMicros / 1000, 2),
  };
}
type AllocWindow = ReturnType<typeof allocWindow>;
/** The Node/V8 flags the proxy image starts node with: its ENTRYPOINT's words between "node" and the script. */
function imageNodeFlags(): string[] {
  const line = readFileSync(join(root, 'apps', 'proxy', 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  const argv = line ? (JSON.parse(line.slice('ENTRYPOINT '.length)) as string[]) : [];
  return argv.slice(1, -1);
}
/**
 * The environment the proxy image sets (its last stage's `ENV NAME=value` lines, such as glibc's malloc settings),
 * less TRELLIS_NET_ADDON, which the bench points at the workspace's addon.
 */
function imageEnv(): Record<string, string> {
  const lines = readFileSync(join(root, 'apps', 'proxy', 'Dockerfile'), 'utf8').split('\n');
  const lastStage = lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true);
  const env: Record<string, string> = {};
  for (const l of lines.slice(lastStage)) {
    const m = /^ENV (\w+)=(\S*)$/.exec(l.trim());
    if (m && m[1] !== 'TRELLIS_NET_ADDON') env[m[1] as string] = m[2] as string;
  }
  return env;
}
const proxyNodeFlags = [...(args['no-image-flags'] ? [] : imageNodeFlags()), ...(args['node-options'] ? args['node-options'].split(' ') : [])];
const proxyEnv: Record<string, string> = Object.fromEntries(
  Object.entries({
    ...(args['no-image-flags'] ? {} : imageEnv()),
    ...Object.fromEntries(
      args['proxy-env']
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  }).filter(([, v]) => v !== ''),
);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const runs = Number(args.runs);
const connections = String(Number(args.connections));
// Resolved and created before the run: a results path that cannot be written fails now, not after the run.
const outFile = resolve(resultsDir, args.out);
mkdirSync(dirname(outFile), { recursive: true });
const payload = String(Number(args['payload-size']));

const fortio = execFileSync(join(root, 'tools', 'bin', 'ensure'), ['fortio']).toString().trim();
const sh = (cmd: string, ...a: string[]) => execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// Two pod pairs (client and server namespace joined by a veth pair, both programmed by proxy-init): "plain"
// with plaintext proxies, "mesh" with meshed ones (identity from Certify, mTLS, orig-proto HTTP/2
// between them). Paths of a pair are told apart by port: the plain client pod ignores 8080 outbound, the plain
// server pod ignores 8080 and 8081 inbound.
const tag = `trellis-bench-${process.pid}`;
const PAIRS = {
  plain: { clientNs: `${tag}-client`, serverNs: `${tag}-server`, clientIp: '10.244.93.1', serverIp: '10.244.93.2', outboundIgnore: '8080', inboundIgnore: '4190,4191,8080,8081' },
  mesh: { clientNs: `${tag}-mclient`, serverNs: `${tag}-mserver`, clientIp: '10.244.94.1', serverIp: '10.244.94.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  // Linkerd's own proxy (linkerd2-proxy) as the pair's proxies, meshed the same way, against the same stub control plane.
  linkerd: { clientNs: `${tag}-lclient`, serverNs: `${tag}-lserver`, clientIp: '10.244.95.1', serverIp: '10.244.95.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  // Floors: the llhttp relay (floor/parser.ts) in plaintext, and the same relay with mTLS 1.3 between the
  // pods (floor/tls.ts, certificates from the meshed proxies' issuer).
  floor: { clientNs: `${tag}-fclient`, serverNs: `${tag}-fserver`, clientIp: '10.244.96.1', serverIp: '10.244.96.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  tlsFloor: { clientNs: `${tag}-tclient`, serverNs: `${tag}-tserver`, clientIp: '10.244.97.1', serverIp: '10.244.97.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  // The meshed pair again with TRELLIS_PROXY_MESH_HTTP1: HTTP/1 between the proxies over pooled mTLS connections.
  meshH1: { clientNs: `${tag}-hclient`, serverNs: `${tag}-hserver`, clientIp: '10.244.99.1', serverIp: '10.244.99.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  // --trace: the meshed pair again with LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR set (Jaeger on loopback in each pod).
  trace: { clientNs: `${tag}-xclient`, serverNs: `${tag}-xserver`, clientIp: '10.244.98.1', serverIp: '10.244.98.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
  // --cores: the meshed pair again, each proxy with LINKERD2_PROXY_CORES=2.
  meshCores: { clientNs: `${tag}-cclient`, serverNs: `${tag}-cserver`, clientIp: '10.244.90.1', serverIp: '10.244.90.2', outboundIgnore: '', inboundIgnore: '4190,4191' },
} as const;
/** The pairs this run sets up: the trace pair only with --trace, the two-core pair only with --cores. */
// The pairs of our own proxies (startProxy), the ones --alloc measures.
const OUR_PAIRS: ReadonlySet<string> = new Set(['plain', 'mesh', 'meshH1', 'trace', 'meshCores']);
const PAIR_NAMES = (Object.keys(PAIRS) as PairName[]).filter((p) => (p !== 'trace' || args.trace) && (p !== 'meshCores' || args.cores));
/** One value per pair. */
const perPair = <T>(f: (pair: PairName) => T): Record<PairName, T> => Object.fromEntries(PAIR_NAMES.map((p) => [p, f(p)])) as Record<PairName, T>;
type PairName = keyof typeof PAIRS;
const PATHS = [
  { name: 'direct', pair: 'plain', port: 8080 },
  { name: 'outbound', pair: 'plain', port: 8081 },
  { name: 'outbound+inbound', pair: 'plain', port: 8082 },
  { name: 'meshed', pair: 'mesh', port: 8083 },
  { name: 'linkerd', pair: 'linkerd', port: 8084 },
  { name: 'floor', pair: 'floor', port: 8085 },
  { name: 'meshed-floor', pair: 'tlsFloor', port: 8087 },
  { name: 'meshed-h1', pair: 'meshH1', port: 8089 },
  { name: 'meshed-cores2', pair: 'meshCores', port: 8090 },
  // --tap: the same ports as the paths they vary, with a tap open on both proxies for the window.
  { name: 'outbound+inbound+tap', pair: 'plain', port: 8082, tap: true },
  { name: 'meshed+tap', pair: 'mesh', port: 8083, tap: true },
  // --trace: tracing configured; untraced requests, then every request with a sampled W3C traceparent.
  { name: 'meshed-traced', pair: 'trace', port: 8088 },
  { name: 'meshed-sampled', pair: 'trace', port: 8088, traceparent: true },
] as const;
type PathName = (typeof PATHS)[number]['name'];
type Path = (typeof PATHS)[number];
/** A path measured on another's port (a tap or trace variant): no fortio server of its own. */
const variantOf: Partial<Record<PathName, PathName>> = { 'outbound+inbound+tap': 'outbound+inbound', 'meshed+tap': 'meshed', 'meshed-sampled': 'meshed-traced' };
const isTap = (p: Path) => 'tap' in p && p.tap;
const BASE_PATHS = PATHS.filter((p) => !isTap(p) && PAIR_NAMES.includes(p.pair));
/** --tap puts each tap variant right after the path it varies; --trace adds its paths after meshed. */
const measured = (args.paths ? BASE_PATHS.filter((p) => args.paths.split(',').includes(p.name)) : BASE_PATHS.filter((p) => p.pair !== 'trace')).flatMap((p) => [
  p,
  ...PATHS.filter((v) => args.tap && isTap(v) && variantOf[v.name] === p.name),
  ...(args.trace && p.name === 'meshed' && !args.paths ? PATHS.filter((v) => v.pair === 'trace') : []),
]);
/** The paths through two proxies, and the proxies whose CPU each one measures. */
const TWO_PROXY_PATHS: Partial<Record<PathName, PairName>> = { 'outbound+inbound': 'plain', meshed: 'mesh', linkerd: 'linkerd', floor: 'floor', 'meshed-floor': 'tlsFloor', 'meshed-traced': 'trace', 'meshed-h1': 'meshH1', 'meshed-cores2': 'meshCores' };
/** The paths compared per path (their own CPU figures): the tap and trace variants and what they vary. */
const PATH_CPU: Partial<Record<PathName, PairName>> = { ...TWO_PROXY_PATHS, 'outbound+inbound+tap': 'plain', 'meshed+tap': 'mesh', 'meshed-sampled': 'trace' };

// Meshed path: the identities the two proxies get from Certify, and the service the client calls.
const CLIENT_ID = 'fortio-client.bench.serviceaccount.identity.trellis.cluster.local';
const SERVER_ID = 'fortio.bench.serviceaccount.identity.trellis.cluster.local';
const MESH_FQN = 'fortio.bench.svc.cluster.local';
const L5D_CLIENT_ID = 'fortio-client-l5d.bench.serviceaccount.identity.trellis.cluster.local';
const L5D_SERVER_ID = 'fortio-l5d.bench.serviceaccount.identity.trellis.cluster.local';
const L5D_FQN = 'fortio-l5d.bench.svc.cluster.local';
const CONTROL_SVC_NAME = 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local';
// --tap: the tap controller's identity (LINKERD2_PROXY_TAP_SVC_NAME) the tap client presents.
const TAP_ID = 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local';
const TRACE_FQN = 'fortio-traced.bench.svc.cluster.local';
const MESH_H1_FQN = 'fortio-h1.bench.svc.cluster.local';
const MESH_CORES_FQN = 'fortio-cores.bench.svc.cluster.local';
// --trace: the W3C context fortio sends on the sampled path (one trace, sampled flag set).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const linkerdEntrypoint = join(root, 'tools', 'linkerd-proxy', 'src', 'main.ts');
const CONTROL_ADDR = '127.0.0.1:8086';
const children: ChildProcess[] = [];

function setup(): void {
  for (const pair of PAIR_NAMES.map((p) => PAIRS[p])) {
    for (const ns of [pair.clientNs, pair.serverNs]) {
      sh('ip', 'netns', 'add', ns);
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    sh('ip', '-n', pair.clientNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pair.serverNs);
    for (const [ns, ip] of [
      [pair.clientNs, pair.clientIp],
      [pair.serverNs, pair.serverIp],
    ] as const) {
      sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    }
    const common = ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102'];
    const outIgnore = pair.outboundIgnore ? ['--outbound-ports-to-ignore', pair.outboundIgnore] : [];
    sh(NODE, proxyInitMain, '--netns', `/run/netns/${pair.clientNs}`, ...common, '--inbound-ports-to-ignore', '4190,4191', ...outIgnore);
    sh(NODE, proxyInitMain, '--netns', `/run/netns/${pair.serverNs}`, ...common, '--inbound-ports-to-ignore', pair.inboundIgnore);
  }
}

function teardown(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const ns of PAIR_NAMES.flatMap((p) => [PAIRS[p].clientNs, PAIRS[p].serverNs])) {
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // already gone
    }
  }
}

function startIn(ns: string, argv: string[], env: Record<string, string>, marker: RegExp, uid?: number): Promise<ChildProcess> {
  const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  // `ip netns exec` and setpriv exec in place, so the child's pid is the program's own.
  const child = spawn('ip', ['netns', 'exec', ns, ...asUser, ...argv], { env: { PATH: process.env['PATH'] ?? '', ...env } });
  children.push(child);
  let out = '';
  const log = args.logs ? join(args.logs, `${ns.replace(`${tag}-`, '')}-${basename(argv[argv.length - 1] ?? 'x')}-${child.pid}.log`) : undefined;
  if (log) mkdirSync(args.logs, { recursive: true });
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      if (log) appendFileSync(log, b);
      out += b.toString();
      if (marker.test(out)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${out}`)));
  });
}

/** The meshed proxies' identity material: a trust anchor and issuer (for Certify), a token per identity. */
interface MeshSetup {
  readonly dir: string;
  readonly trustAnchorsPem: string;
}

async function meshSetup(): Promise<MeshSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-bench-mesh-'));
  chmodSync(dir, 0o755);
  const anchor = await createTrustAnchor({ commonName: 'root.bench.trellis' });
  const issuer = await createIssuer({ commonName: 'issuer.bench.trellis', parent: anchor });
  const trustAnchorsPem = encodeCertificates([anchor.certificate]);
  mkdirSync(join(dir, 'pki'));
  writeFileSync(join(dir, 'pki', 'crt.pem'), encodeCertificates([issuer.certificate]));
  writeFileSync(join(dir, 'pki', 'key.pem'), privateKeyToPem(issuer.keys.privateKey));
  writeFileSync(join(dir, 'pki', 'ca-bundle.crt'), trustAnchorsPem);
  const tokens: Record<string, string> = {};
  for (const id of [CLIENT_ID, SERVER_ID, L5D_CLIENT_ID, L5D_SERVER_ID]) {
    tokens[`token-${id}`] = id;
    mkdirSync(join(dir, id), { mode: 0o777 });
    chmodSync(join(dir, id), 0o777);
    writeFileSync(join(dir, id, 'token'), `token-${id}`, { mode: 0o644 });
  }
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokens));
  // The meshed floor's certificates: leaves for the meshed identities from the same issuer, as Certify issues them.
  const ca = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [anchor.certificate] });
  for (const id of [CLIENT_ID, SERVER_ID, TAP_ID]) {
    const keys = generateKeyPair();
    const leaf = ca.issue(parseCsr(await createCsr({ keys, dnsNames: [id] })), id, { lifetimeMs: 24 * 3_600_000, clockSkewMs: 10_000 });
    const d = join(dir, `floor-${id}`);
    mkdirSync(d);
    writeFileSync(join(d, 'crt.pem'), encodeCertificates([leaf.der, issuer.certificate]));
    writeFileSync(join(d, 'key.pem'), privateKeyToPem(keys.privateKey));
    writeFileSync(join(d, 'ca.pem'), trustAnchorsPem);
  }
  const m = PAIRS.mesh;
  const l = PAIRS.linkerd;
  const x = PAIRS.trace;
  const h = PAIRS.meshH1;
  const c = PAIRS.meshCores;
  writeFileSync(
    join(dir, 'destination.json'),
    JSON.stringify({
      profiles: { [`${m.serverIp}:8083`]: MESH_FQN, [`${l.serverIp}:8084`]: L5D_FQN, [`${x.serverIp}:8088`]: TRACE_FQN, [`${h.serverIp}:8089`]: MESH_H1_FQN, [`${c.serverIp}:8090`]: MESH_CORES_FQN },
      services: {
        [`${MESH_FQN}:8083`]: [{ ip: m.serverIp, port: 8083, identity: SERVER_ID }],
        [`${L5D_FQN}:8084`]: [{ ip: l.serverIp, port: 8084, identity: L5D_SERVER_ID }],
        [`${TRACE_FQN}:8088`]: [{ ip: x.serverIp, port: 8088, identity: SERVER_ID }],
        [`${MESH_H1_FQN}:8089`]: [{ ip: h.serverIp, port: 8089, identity: SERVER_ID }],
        [`${MESH_CORES_FQN}:8090`]: [{ ip: c.serverIp, port: 8090, identity: SERVER_ID }],
      },
    }),
  );
  return { dir, trustAnchorsPem };
}

function startControlPlane(ns: string, mesh: MeshSetup): Promise<ChildProcess> {
  const d = mesh.dir;
  return startIn(ns, [NODE, controlPlaneMain, '--listen', CONTROL_ADDR, '--pki', join(d, 'pki'), '--tokens', join(d, 'tokens.json'), '--destination', join(d, 'destination.json')], {}, /control plane listening/);
}

/** The variables the injector renders for a meshed proxy (identity and destination on loopback). */
function meshEnv(mesh: MeshSetup, identity: string, pair: (typeof PAIRS)['mesh' | 'linkerd' | 'trace' | 'meshH1' | 'meshCores']): Record<string, string> {
  return {
    LINKERD2_PROXY_IDENTITY_DIR: join(mesh.dir, identity, 'end-entity'),
    LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(mesh.dir, identity, 'token'),
    LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: mesh.trustAnchorsPem,
    LINKERD2_PROXY_IDENTITY_LOCAL_NAME: identity,
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: CONTROL_ADDR,
    LINKERD2_PROXY_DESTINATION_SVC_ADDR: CONTROL_ADDR,
    LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: `${pair.clientIp.replace(/\.\d+$/, '.0')}/24`,
    LINKERD2_PROXY_DESTINATION_CONTEXT: JSON.stringify({ ns: 'bench', nodeName: 'node-1', pod: identity.split('.')[0] }),
  };
}

function startProxy(ns: string, ip: string, profileDir: string | undefined, mesh?: Record<string, string>): Promise<ChildProcess> {
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(allocDir ? ['--import', allocProbe] : []), ...proxyNodeFlags];
  return startIn(
    ns,
    [NODE, ...nodeArgs, mesh || !args['proxy-main'] ? proxyMain : args['proxy-main']],
    {
      // As the image sets it: the addon is found wherever the bundle is (--bundle may name a copy elsewhere).
      TRELLIS_NET_ADDON: join(root, 'libs', 'net', 'build', 'Release', 'trellis_net.node'),
      FLOOR_OUT: `${PAIRS.plain.serverIp}:8082`,
      FLOOR_IN: `${PAIRS.plain.serverIp}:8082`,
      ...(mesh ?? { TRELLIS_PROXY_PLAINTEXT: 'true' }),
      LINKERD2_PROXY_LOG: 'warn,linkerd=info',
      LINKERD2_PROXY_INBOUND_IPS: ip,
      LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
      LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '2s',
      // --tap: the tap server on (port 4190), so the windows without a tap open measure it idle.
      ...(args.tap ? { LINKERD2_PROXY_TAP_SVC_NAME: TAP_ID } : {}),
      ...(allocDir ? { TRELLIS_BENCH_ALLOC_DIR: allocDir, TRELLIS_BENCH_HEAP_SAMPLE: args['heap-sample'] } : {}),
      ...proxyEnv,
    },
    /proxy listening/,
    2102,
  );
}

/** A floor script as a pair's proxy (4140 out, 4143 in), both sides relaying to the pair's server port. */
function startFloor(ns: string, main: string, target: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return startIn(ns, [NODE, main], { FLOOR_OUT: target, FLOOR_IN: target, ...env }, /proxy listening/, 2102);
}

/**
 * linkerd2-proxy as Linkerd's image starts it (tools/linkerd-proxy: the entrypoint writes key.p8 and csr.der,
 * then execs the pinned binary in its own process), with the variables Linkerd's injector renders, one core
 * (LINKERD2_PROXY_CORES=1, as a proxy without a CPU limit above one core gets), the stub control plane on
 * loopback for identity, destination and policy.
 */
function startLinkerd(ns: string, mesh: MeshSetup, identity: string, pair: (typeof PAIRS)['linkerd'], pod: string): Promise<ChildProcess> {
  const env = meshEnv(mesh, identity, pair);
  return startIn(
    ns,
    [NODE, linkerdEntrypoint],
    {
      ...env,
      LINKERD2_PROXY_IDENTITY_SVC_NAME: 'trellis-identity.trellis.serviceaccount.identity.trellis.cluster.local',
      LINKERD2_PROXY_DESTINATION_SVC_NAME: CONTROL_SVC_NAME,
      LINKERD2_PROXY_POLICY_SVC_ADDR: CONTROL_ADDR,
      LINKERD2_PROXY_POLICY_SVC_NAME: CONTROL_SVC_NAME,
      LINKERD2_PROXY_POLICY_WORKLOAD: JSON.stringify({ ns: 'bench', pod }),
      LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS: env['LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS'] ?? '',
      LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'all-unauthenticated',
      LINKERD2_PROXY_INBOUND_PORTS: '8084',
      LINKERD2_PROXY_INBOUND_IPS: ns === pair.clientNs ? pair.clientIp : pair.serverIp,
      LINKERD2_PROXY_CORES: '1',
      LINKERD2_PROXY_LOG: 'warn,linkerd=info',
      LINKERD2_PROXY_LOG_FORMAT: 'plain',
      LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
      LINKERD2_PROXY_CONTROL_LISTEN_ADDR: '0.0.0.0:4190',
      LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '0.0.0.0:4143',
      LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR: '127.0.0.1:4140',
      LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '2s',
    },
    /Admin interface on/,
    2102,
  );
}

/** Waits until a meshed proxy holds its certificate (its admin /ready answers 200). */
async function waitReady(ns: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const probe = "fetch('http://127.0.0.1:4191/ready').then((r) => process.stdout.write(String(r.status)), () => process.stdout.write('0'))";
      if (sh('ip', 'netns', 'exec', ns, NODE, '-e', probe).trim() === '200') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`proxy in ${ns} not ready after 20 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** utime + stime of a process, in microseconds (USER_HZ is 100 on Linux). */
function cpuMicros(pid: number): number {
  const t = cpuSplit(pid);
  return t.user + t.system;
}

function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / 100, system: (Number(fields[12]) * 1e6) / 100 };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The private part of RSS: RssFile (the node binary's pages, shared by every proxy on a node) left out. */
function anonMiB(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Cumulative event-loop delay buckets (upper bound in s -> count) from a proxy's /metrics; undefined without it. */
type LoopBuckets = Map<number, number>;

/**
 * Scrapes a proxy's admin /metrics from inside its namespace, gzipped as Prometheus asks for it (so a window
 * holds one scrape's cost, as a pod scraped at the run's length would), and reads process_event_loop_delay_seconds.
 */
function scrapeLoopDelay(ns: string): LoopBuckets | undefined {
  let text: string;
  try {
    text = sh('ip', 'netns', 'exec', ns, 'curl', '-sf', '--compressed', '--max-time', '5', 'http://127.0.0.1:4191/metrics');
  } catch {
    return undefined;
  }
  const buckets: LoopBuckets = new Map();
  for (const m of text.matchAll(/^process_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return buckets.size ? buckets : undefined;
}

/** The samples taken between two scrapes, per bucket (cumulative), added to `into`. */
function addLoopWindow(into: LoopBuckets, before: LoopBuckets | undefined, after: LoopBuckets | undefined): void {
  if (!before || !after) return;
  for (const [le, n] of after) into.set(le, (into.get(le) ?? 0) + n - (before.get(le) ?? 0));
}

/**
 * p99 (interpolated within its bucket, as Prometheus' histogram_quantile) and max (the upper bound of the
 * highest bucket with a sample: the histogram's resolution) in ms, or null when the proxy has no histogram.
 */
function loopDelaySummary(b: LoopBuckets): { p99Ms: number; maxMsAtMost: number; samples: number } | null {
  const les = [...b.keys()].sort((x, y) => x - y);
  const total = b.get(Infinity) ?? 0;
  if (total === 0) return null;
  const rank = 0.99 * total;
  let p99 = Infinity;
  let prevLe = 0;
  let prevN = 0;
  for (const le of les) {
    const n = b.get(le) ?? 0;
    if (n >= rank) {
      p99 = le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN);
      break;
    }
    prevLe = le;
    prevN = n;
  }
  let max = 0;
  let below = 0;
  for (const le of les) {
    const n = b.get(le) ?? 0;
    if (n > below) max = le;
    below = n;
  }
  return { p99Ms: round(p99 * 1000, 2), maxMsAtMost: max === Infinity ? Infinity : round(max * 1000, 2), samples: total };
}

interface FortioResult {
  readonly qps: number;
  readonly requests: number;
  readonly ok: number;
  readonly percentilesMs: Record<string, number>;
  /** A tap variant's window: the events each proxy's tap client read. */
  readonly tap?: TapWindow;
}

/** What a tap client read over one window (tap-load.ts's last line); endedEarly: the proxy ended the tap. */
interface TapCount {
  readonly events: number;
  /** The tap client's own CPU time over the window: it runs on the proxies' cores. */
  readonly cpuMs: number;
  readonly endedEarly: { code: number; details: string } | null;
}
type TapWindow = { outbound: TapCount; inbound: TapCount };

/** --tap: the tap client's certificate (for TAP_ID) and the meshed proxies' identities, once the mesh is set up. */
let tapDirs: { tls: string; clientId: string; serverId: string } | undefined;

/** A tap client (tap-load.ts) on the proxy in `ns`, open once the proxy answered; close() ends it and gives its count. */
function openTap(ns: string, serverId: string | undefined): Promise<{ close(): Promise<TapCount> }> {
  const tls = serverId && tapDirs ? { TAP_TLS_DIR: tapDirs.tls, TAP_SERVER_ID: serverId } : {};
  const child = spawn('ip', ['netns', 'exec', ns, NODE, tapLoadMain], { env: { PATH: process.env['PATH'] ?? '', TAP_ADDR: '127.0.0.1:4190', ...tls } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tap in ${ns} not open after 20 s: ${err}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`tap client in ${ns} exited ${code}: ${err}`)));
    child.stdout.on('data', () => {
      if (!out.includes('tap open\n')) return;
      clearTimeout(timer);
      resolve({
        async close() {
          child.kill('SIGTERM');
          await exited;
          const last = out.trim().split('\n').pop() ?? '';
          if (!last.startsWith('{')) throw new Error(`tap client in ${ns} printed no count: ${err}`);
          return JSON.parse(last) as TapCount;
        },
      });
    });
  });
}

function runFortio(path: Path, qps: number, secs: number): Promise<FortioResult> {
  if (isTap(path)) return withTaps(path, qps, secs);
  const pair = PAIRS[path.pair];
  const out = mkdtempSync(join(tmpdir(), 'fortio-'));
  const json = join(out, 'r.json');
  const argv = ['load', '-quiet', '-qps', String(qps), '-c', connections, '-t', `${secs}s`, '-payload-size', payload, '-p', '50,90,99,99.9', '-json', json];
  if (qps > 0) argv.push('-uniform');
  if ('traceparent' in path) argv.push('-H', `traceparent: ${TRACEPARENT}`);
  argv.push(`http://${pair.serverIp}:${path.port}/echo`);
  const child = spawn('ip', ['netns', 'exec', pair.clientNs, fortio, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`fortio exited ${code}: ${err}`));
      const r = JSON.parse(readFileSync(json, 'utf8')) as {
        ActualQPS: number;
        DurationHistogram: { Count: number; Percentiles: { Percentile: number; Value: number }[] };
        RetCodes: Record<string, number>;
      };
      const percentilesMs: Record<string, number> = {};
      for (const p of r.DurationHistogram.Percentiles) percentilesMs[`p${p.Percentile}`] = p.Value * 1000;
      resolve({ qps: r.ActualQPS, requests: r.DurationHistogram.Count, ok: r.RetCodes['200'] ?? 0, percentilesMs });
    });
  });
}

/** --tap and --trace: their sections of the results (`tap`, `trace`) and their text for the summary line. */
function reportVariants(result: object, samples: Record<PathName, FortioResult[]>, pathCpu: Record<PathName, { outbound: number[]; inbound: number[] }>): string {
  const windows = (name: PathName): PathWindows => ({
    cpu: pathCpu[name],
    p99Ms: samples[name].map((s) => s.percentilesMs['p99'] ?? 0),
    requests: samples[name].map((s) => s.requests),
    tapEvents: samples[name].flatMap((s) => (s.tap ? [{ outbound: s.tap.outbound.events, inbound: s.tap.inbound.events, clientCpuMs: s.tap.outbound.cpuMs + s.tap.inbound.cpuMs, endedEarly: Boolean(s.tap.outbound.endedEarly ?? s.tap.inbound.endedEarly) }] : [])),
  });
  const text: string[] = [];
  if (args.tap) {
    const tap: Record<string, ReturnType<typeof tapComparison>> = {};
    for (const p of measured.filter(isTap)) {
      const base = variantOf[p.name] as PathName;
      tap[base] = tapComparison(windows(base), windows(p.name));
      text.push(tapText(base, tap[base]));
    }
    Object.assign(result, { tap });
  }
  if (args.trace && samples['meshed-traced'].length && samples['meshed-sampled'].length) {
    const trace = traceComparison(windows('meshed'), windows('meshed-traced'), windows('meshed-sampled'));
    const x = PAIRS.trace;
    // Over the whole run (warm-up and max-throughput windows too): what the proxies exported and Jaeger holds.
    const spans = {
      exported: { outbound: scrapeCounter(x.clientNs, 'trace_spans_exported_total'), inbound: scrapeCounter(x.serverNs, 'trace_spans_exported_total') },
      dropped: { outbound: scrapeCounter(x.clientNs, 'trace_spans_dropped_total'), inbound: scrapeCounter(x.serverNs, 'trace_spans_dropped_total') },
      inJaeger: { outbound: spansInJaeger(x.clientNs, TRACE_ID), inbound: spansInJaeger(x.serverNs, TRACE_ID) },
    };
    Object.assign(result, { trace: { ...trace, spans } });
    text.push(traceText(trace, `spans exported ${spans.exported.outbound}/${spans.exported.inbound}, dropped ${spans.dropped.outbound}/${spans.dropped.inbound}, in Jaeger ${spans.inJaeger.outbound}/${spans.inJaeger.inbound}`));
  }
  return text.map((t) => `${t}; `).join('');
}

/**
 * --cores: the two-core meshed pair against the one-core meshed pair of the same run: max throughput (and its
 * ratio), CPU per request at the constant rate, peak and private memory, as a `cores` section and summary text.
 */
function reportCores(
  result: object,
  cpuOf: (pair: PairName) => { outbound: number; inbound: number },
  max: Record<string, number>,
  maxRuns: Record<string, number[]>,
  peakRss: PerProxy,
  peakAnon: PerProxy,
  idleAnon: PerProxy,
): string {
  const side = (pair: PairName) => ({
    maxThroughputQps: round(max[pair === 'mesh' ? 'meshed' : 'meshed-cores2'] ?? NaN, 0),
    maxThroughputRatioToDirect: round((max[pair === 'mesh' ? 'meshed' : 'meshed-cores2'] ?? NaN) / (max['direct'] ?? NaN)),
    cpuMicrosPerRequest: cpuOf(pair),
    peakRssMiB: { outbound: round(peakRss[pair].outbound, 1), inbound: round(peakRss[pair].inbound, 1) },
    peakRssAnonMiB: { outbound: round(peakAnon[pair].outbound, 1), inbound: round(peakAnon[pair].inbound, 1) },
    idleRssAnonMiB: idleAnon[pair],
  });
  const one = side('mesh');
  const two = side('meshCores');
  // Per round (the two paths' windows back to back), so a change in the machine's load between rounds cancels out.
  const perRound = (maxRuns['meshed-cores2'] ?? []).map((q, i) => round(q / (maxRuns['meshed']?.[i] ?? NaN)));
  const cores = {
    one,
    two,
    maxThroughputTwoOverOne: round(two.maxThroughputQps / one.maxThroughputQps),
    maxThroughputTwoOverOnePerRound: perRound,
    loadAverage: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
  Object.assign(result, { cores });
  const f = (x: typeof one) =>
    `max ${x.maxThroughputQps} rps (${x.maxThroughputRatioToDirect}x of direct), CPU ${x.cpuMicrosPerRequest.outbound}/${x.cpuMicrosPerRequest.inbound} us/req, ` +
    `RSS ${x.peakRssMiB.outbound}/${x.peakRssMiB.inbound} MiB (private ${x.peakRssAnonMiB.outbound}/${x.peakRssAnonMiB.inbound}, idle ${x.idleRssAnonMiB.outbound}/${x.idleRssAnonMiB.inbound})`;
  return `cores: meshed 1 core ${f(one)}; 2 cores ${f(two)}; max 2/1 x${cores.maxThroughputTwoOverOne} (per round ${perRound.join(', ')}); `;
}

/** The sum of a counter's series in a proxy's /metrics (from inside its namespace); NaN when unreadable. */
function scrapeCounter(ns: string, name: string): number {
  try {
    const text = sh('ip', 'netns', 'exec', ns, 'curl', '-sf', '--max-time', '5', 'http://127.0.0.1:4191/metrics');
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  } catch {
    return NaN;
  }
}

/** A tap variant's window: a tap open on both proxies of the pair for the whole fortio run. */
async function withTaps(path: Path, qps: number, secs: number): Promise<FortioResult> {
  const pair = PAIRS[path.pair];
  const meshed = path.pair !== 'plain';
  const taps = await Promise.all([openTap(pair.clientNs, meshed ? tapDirs?.clientId : undefined), openTap(pair.serverNs, meshed ? tapDirs?.serverId : undefined)]);
  const base = PATHS.find((p) => p.name === variantOf[path.name]) as Path;
  const r = await runFortio(base, qps, secs);
  const [outbound, inbound] = await Promise.all(taps.map((t) => t.close()));
  return { ...r, tap: { outbound: outbound as TapCount, inbound: inbound as TapCount } };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Self time per function from a V8 .cpuprofile, top N, in percent of the busy samples ((idle) left out: a
 * proxy at 1000 rps idles most of the time). `(program)` is native code outside JS (TLS, nghttp2, libuv);
 * `writev` includes the kernel's TCP send, which on veth also runs the peer's receive path and NAT.
 */
function topFunctions(dir: string, n = 12): { fn: string; selfPercentOfBusy: number }[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return [];
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const counts = new Map<string, number>();
  let busy = 0;
  for (const id of prof.samples) {
    const cf = byId.get(id)?.callFrame;
    if (cf?.functionName === '(idle)') continue;
    busy++;
    const key = cf ? `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : '?';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, c]) => ({ fn, selfPercentOfBusy: round((100 * c) / Math.max(1, busy), 1) }));
}

/**
 * Bundles the proxy with the esbuild options of its nx build target (apps/proxy/package.json), so the bench runs
 * what the image carries: minified, and ASCII-only, without which V8 holds the whole source as a two-byte string
 * (a non-ASCII character in one comment doubled it: 4.6 MiB of heap for a 2.4 MB bundle).
 */
function bundleProxy(): void {
  const pkg = JSON.parse(readFileSync(join(root, 'apps', 'proxy', 'package.json'), 'utf8')) as {
    nx: { targets: { build: { options: { esbuildOptions: { banner: { js: string }; minifyWhitespace?: boolean; minifySyntax?: boolean; charset?: string; legalComments?: string } } } } };
  };
  const o = pkg.nx.targets.build.options.esbuildOptions;
  const flags = [
    ...(o.minifyWhitespace ? ['--minify-whitespace'] : []),
    ...(o.minifySyntax ? ['--minify-syntax'] : []),
    ...(o.charset ? [`--charset=${o.charset}`] : []),
    ...(o.legalComments ? [`--legal-comments=${o.legalComments}`] : []),
  ];
  execFileSync(
    join(root, 'node_modules', '.bin', 'esbuild'),
    [proxySource, '--bundle', '--platform=node', '--format=esm', '--target=node24', '--external:*.node', `--outfile=${defaultProxyMain}`, `--banner:js=${o.banner.js}`, ...flags, '--log-level=warning'],
    { stdio: 'inherit' },
  );
}

/** The medians of a proxy's windows, field by field. */
function allocMedians(ws: AllocWindow[]): AllocWindow {
  const m = (k: keyof AllocWindow) => round(median(ws.map((w) => w[k])), 2);
  return {
    bytesPerRequest: m('bytesPerRequest'),
    scavenges: m('scavenges'),
    fullGcs: m('fullGcs'),
    gcPauseMsPerSecond: m('gcPauseMsPerSecond'),
    fullGcPauseMsPerSecond: m('fullGcPauseMsPerSecond'),
    maxGcPauseMs: m('maxGcPauseMs'),
  };
}

function allocText(a: Record<string, { outbound: AllocWindow; inbound: AllocWindow }>): string {
  const one = (w: AllocWindow) => `${w.bytesPerRequest} B/req, ${w.scavenges}+${w.fullGcs} GCs, pauses ${w.gcPauseMsPerSecond} ms/s (full GCs ${w.fullGcPauseMsPerSecond}, max ${w.maxGcPauseMs})`;
  return Object.entries(a)
    .map(([path, w]) => `${path} allocates ${one(w.outbound)} out, ${one(w.inbound)} in; `)
    .join('');
}

type Proxies = Record<PairName, { outbound: ChildProcess; inbound: ChildProcess }>;
type PerProxy = Record<PairName, { outbound: number; inbound: number }>;
const zeroPerProxy = (): PerProxy => perPair(() => ({ outbound: 0, inbound: 0 }));

async function main(): Promise<void> {
  // The machine is shared: the load when the run starts, next to the one at its end.
  const loadAtStart = readFileSync('/proc/loadavg', 'utf8').trim();
  if (!args.bundle) bundleProxy();
  setup();
  // --profile: the plain and the two meshed outbound proxies run under node --cpu-prof (one directory each).
  const profileDirs = args.profile
    ? { plain: mkdtempSync(join(tmpdir(), 'proxy-prof-')), mesh: mkdtempSync(join(tmpdir(), 'proxy-prof-mesh-')), meshH1: mkdtempSync(join(tmpdir(), 'proxy-prof-mesh-h1-')) }
    : undefined;
  for (const d of Object.values(profileDirs ?? {})) chmodSync(d, 0o777);
  try {
    for (const p of BASE_PATHS.filter((x) => !variantOf[x.name])) {
      const pair = PAIRS[p.pair];
      await startIn(pair.serverNs, [fortio, 'server', '-http-port', `${pair.serverIp}:${p.port}`, '-grpc-port', 'disabled', '-redirect-port', 'disabled'], {}, /(Fortio|fortio).*(server|listening)|All fortio/i);
    }
    const mesh = await meshSetup();
    const m = PAIRS.mesh;
    const l = PAIRS.linkerd;
    const f = PAIRS.floor;
    const t = PAIRS.tlsFloor;
    const x = PAIRS.trace;
    const h = PAIRS.meshH1;
    const c = PAIRS.meshCores;
    const meshedNs = [m.clientNs, m.serverNs, h.clientNs, h.serverNs, l.clientNs, l.serverNs, ...(args.trace ? [x.clientNs, x.serverNs] : []), ...(args.cores ? [c.clientNs, c.serverNs] : [])];
    for (const ns of meshedNs) await startControlPlane(ns, mesh);
    // --trace: Jaeger in each pod of the trace pair, taking OTLP on loopback.
    if (args.trace) for (const ns of [x.clientNs, x.serverNs]) await startIn(ns, jaegerArgv(root, mkdtempSync(join(tmpdir(), 'proxy-bench-jaeger-'))), {}, /Everything is ready/);
    const traceEnv = { LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: OTLP_ADDR, LINKERD2_PROXY_TRACE_SERVICE_NAME: 'fortio-proxy' };
    const meshH1Env = { TRELLIS_PROXY_MESH_HTTP1: 'true' };
    const pl = PAIRS.plain;
    const proxies: Proxies = {
      plain: { outbound: await startProxy(pl.clientNs, pl.clientIp, profileDirs?.plain), inbound: await startProxy(pl.serverNs, pl.serverIp, undefined) },
      mesh: {
        outbound: await startProxy(m.clientNs, m.clientIp, profileDirs?.mesh, meshEnv(mesh, CLIENT_ID, m)),
        inbound: await startProxy(m.serverNs, m.serverIp, undefined, meshEnv(mesh, SERVER_ID, m)),
      },
      meshH1: {
        outbound: await startProxy(h.clientNs, h.clientIp, profileDirs?.meshH1, { ...meshEnv(mesh, CLIENT_ID, h), ...meshH1Env }),
        inbound: await startProxy(h.serverNs, h.serverIp, undefined, { ...meshEnv(mesh, SERVER_ID, h), ...meshH1Env }),
      },
      linkerd: { outbound: await startLinkerd(l.clientNs, mesh, L5D_CLIENT_ID, l, 'fortio-client'), inbound: await startLinkerd(l.serverNs, mesh, L5D_SERVER_ID, l, 'fortio') },
      floor: { outbound: await startFloor(f.clientNs, floorMain, `${f.serverIp}:8085`), inbound: await startFloor(f.serverNs, floorMain, `${f.serverIp}:8085`) },
      tlsFloor: {
        outbound: await startFloor(t.clientNs, tlsFloorMain, `${t.serverIp}:8087`, { FLOOR_TLS_DIR: join(mesh.dir, `floor-${CLIENT_ID}`), FLOOR_SERVER_NAME: SERVER_ID }),
        inbound: await startFloor(t.serverNs, tlsFloorMain, `${t.serverIp}:8087`, { FLOOR_TLS_DIR: join(mesh.dir, `floor-${SERVER_ID}`), FLOOR_SERVER_NAME: SERVER_ID }),
      },
      ...(args.cores
        ? {
            meshCores: {
              outbound: await startProxy(c.clientNs, c.clientIp, undefined, { ...meshEnv(mesh, CLIENT_ID, c), LINKERD2_PROXY_CORES: '2', TRELLIS_PROXY_WORKER_THREADS: 'true' }),
              inbound: await startProxy(c.serverNs, c.serverIp, undefined, { ...meshEnv(mesh, SERVER_ID, c), LINKERD2_PROXY_CORES: '2', TRELLIS_PROXY_WORKER_THREADS: 'true' }),
            },
          }
        : {}),
      ...(args.trace
        ? {
            trace: {
              outbound: await startProxy(x.clientNs, x.clientIp, undefined, { ...meshEnv(mesh, CLIENT_ID, x), ...traceEnv }),
              inbound: await startProxy(x.serverNs, x.serverIp, undefined, { ...meshEnv(mesh, SERVER_ID, x), ...traceEnv }),
            },
          }
        : {}),
    } as Proxies;
    for (const ns of meshedNs) await waitReady(ns);
    tapDirs = { tls: join(mesh.dir, `floor-${TAP_ID}`), clientId: CLIENT_ID, serverId: SERVER_ID };
    const pid = (pair: PairName, side: 'outbound' | 'inbound') => proxies[pair][side].pid as number;
    const each = (f: (pid: number) => number): PerProxy => perPair((pair) => ({ outbound: f(pid(pair, 'outbound')), inbound: f(pid(pair, 'inbound')) }));
    const idleRss = each((x) => round(rssMiB(x), 1));
    const idleAnon = each((x) => round(anonMiB(x), 1));
    // Warm-up: JIT, pools and (meshed) discovery and TLS sessions, not measured.
    for (const p of measured) await runFortio(p, rate, 3);
    const idleRssAfterWarmup = each((x) => round(rssMiB(x), 1));

    const samples = Object.fromEntries(PATHS.map((p) => [p.name, [] as FortioResult[]])) as Record<PathName, FortioResult[]>;
    const cpu = perPair(() => ({ outbound: [] as number[], inbound: [] as number[] }));
    // Per path (the tap and trace variants and their bases): CPU µs per request of the pair's two proxies.
    const pathCpu = Object.fromEntries(PATHS.map((p) => [p.name, { outbound: [] as number[], inbound: [] as number[] }])) as Record<PathName, { outbound: number[]; inbound: number[] }>;
    const userShare = perPair(() => [] as number[]);
    // Event-loop delay of each proxy over the measured windows of the paths through it.
    const loop = perPair((): { outbound: LoopBuckets; inbound: LoopBuckets } => ({ outbound: new Map(), inbound: new Map() }));
    const loopSides = (p: (typeof PATHS)[number]): ('outbound' | 'inbound')[] =>
      (p.pair !== 'plain' && p.pair !== 'mesh') || isTap(p) ? [] : p.name === 'direct' ? [] : p.name === 'outbound' ? ['outbound'] : ['outbound', 'inbound'];
    const nsOf = (pair: PairName, side: 'outbound' | 'inbound') => (side === 'outbound' ? PAIRS[pair].clientNs : PAIRS[pair].serverNs);
    const peakRss = zeroPerProxy();
    const peakAnon = zeroPerProxy();
    // --alloc: per path through our proxies, each window's allocation and GCs (alloc-probe.ts).
    const allocation: Partial<Record<PathName, { outbound: AllocWindow[]; inbound: AllocWindow[] }>> = {};
    const sampler = setInterval(() => {
      for (const [peak, now] of [
        [peakRss, each(rssMiB)],
        [peakAnon, each(anonMiB)],
      ] as const)
        for (const pair of PAIR_NAMES)
          peak[pair] = { outbound: Math.max(peak[pair].outbound, now[pair].outbound), inbound: Math.max(peak[pair].inbound, now[pair].inbound) };
    }, 200);
    for (let run = 0; run < runs; run++) {
      for (const p of measured) {
        // Scraped outside the CPU window: the scrape's own cost is the loop's (it lands in this window's
        // delay), not the requests'.
        const loop0 = loopSides(p).map((side) => scrapeLoopDelay(nsOf(p.pair, side)));
        const allocPids = allocDir && OUR_PAIRS.has(p.pair) && p.name !== 'direct' ? ([pid(p.pair, 'outbound'), pid(p.pair, 'inbound')] as const) : undefined;
        const alloc0 = allocPids && (await Promise.all(allocPids.map(allocMark)));
        const before = each(cpuMicros);
        const split0 = each((x) => cpuSplit(x).user);
        const r = await runFortio(p, rate, seconds);
        samples[p.name].push(r);
        const pc = PATH_CPU[p.name];
        const after = each(cpuMicros);
        if (allocPids && alloc0) {
          const alloc1 = await Promise.all(allocPids.map(allocMark));
          const w = (i: 0 | 1) => allocWindow(alloc0[i] as AllocMark, alloc1[i] as AllocMark, r.requests, seconds);
          (allocation[p.name] ??= { outbound: [], inbound: [] }).outbound.push(w(0));
          (allocation[p.name] as { inbound: AllocWindow[] }).inbound.push(w(1));
        }
        if (pc) {
          pathCpu[p.name].outbound.push((after[pc].outbound - before[pc].outbound) / r.requests);
          pathCpu[p.name].inbound.push((after[pc].inbound - before[pc].inbound) / r.requests);
        }
        const pair = TWO_PROXY_PATHS[p.name];
        if (pair) {
          cpu[pair].outbound.push((after[pair].outbound - before[pair].outbound) / r.requests);
          cpu[pair].inbound.push((after[pair].inbound - before[pair].inbound) / r.requests);
          const user = cpuSplit(pid(pair, 'outbound')).user - split0[pair].outbound;
          userShare[pair].push(user / Math.max(1, after[pair].outbound - before[pair].outbound));
        }
        loopSides(p).forEach((side, i) => addLoopWindow(loop[p.pair][side], loop0[i], scrapeLoopDelay(nsOf(p.pair, side))));
        process.stderr.write(`run ${run + 1}/${runs} ${p.name}: p50 ${round(r.percentilesMs['p50'] ?? 0)} ms, p99 ${round(r.percentilesMs['p99'] ?? 0)} ms, ${r.ok}/${r.requests} ok${r.tap ? `, tap events ${r.tap.outbound.events}/${r.tap.inbound.events}` : ''}\n`);
      }
    }
    clearInterval(sampler);

    const maxRuns: Record<string, number[]> = {};
    for (let pass = 0; pass < Number(args['max-runs']); pass++)
      for (const p of measured) (maxRuns[p.name] ??= []).push((await runFortio(p, 0, Number(args['max-seconds']))).qps);
    const max: Record<string, number> = Object.fromEntries(Object.entries(maxRuns).map(([name, qps]) => [name, median(qps)]));

    const pct = ['p50', 'p90', 'p99', 'p99.9'];
    const medians = Object.fromEntries(PATHS.map((p) => [p.name, Object.fromEntries(pct.map((k) => [k, round(median(samples[p.name].map((s) => s.percentilesMs[k] ?? 0)))]))])) as Record<
      PathName,
      Record<string, number>
    >;
    const added = (path: PathName) => Object.fromEntries(pct.map((k) => [k, round((medians[path][k] ?? 0) - (medians.direct[k] ?? 0))]));

    const profile = perPair((): { fn: string; selfPercentOfBusy: number }[] => []);
    if (profileDirs) {
      for (const pair of ['plain', 'mesh', 'meshH1'] as const) {
        const ob = proxies[pair].outbound;
        ob.kill('SIGTERM');
        await new Promise((r) => ob.once('exit', r));
        profile[pair] = topFunctions(profileDirs[pair], 15);
      }
    }

    const cpuOf = (pair: PairName) => ({ outbound: round(median(cpu[pair].outbound), 1), inbound: round(median(cpu[pair].inbound), 1) });
    const ratio = (path: PathName) => round((max[path] ?? 0) / (max['direct'] ?? 1));
    const result = {
      benchmark: 'proxy-overhead',
      when: new Date().toISOString(),
      settings: { rate, seconds, runs, connections: Number(connections), payloadBytes: Number(payload), proxyNodeFlags, proxyEnv },
      latencyMsMedianOfRuns: medians,
      addedMs: Object.fromEntries(PATHS.filter((p) => p.name !== 'direct').map((p) => [p.name, added(p.name)])) as Record<Exclude<PathName, 'direct'>, Record<string, number>>,
      cpuMicrosPerRequest: cpuOf('plain'),
      meshedCpuMicrosPerRequest: cpuOf('mesh'),
      outboundUserCpuShare: round(median(userShare.plain), 2),
      meshedOutboundUserCpuShare: round(median(userShare.mesh), 2),
      peakRssMiB: { outbound: round(peakRss.plain.outbound, 1), inbound: round(peakRss.plain.inbound, 1) },
      meshedPeakRssMiB: { outbound: round(peakRss.mesh.outbound, 1), inbound: round(peakRss.mesh.inbound, 1) },
      peakRssAnonMiB: { plain: { outbound: round(peakAnon.plain.outbound, 1), inbound: round(peakAnon.plain.inbound, 1) }, mesh: { outbound: round(peakAnon.mesh.outbound, 1), inbound: round(peakAnon.mesh.inbound, 1) } },
      idleRssMiB: idleRss.plain,
      meshedIdleRssMiB: idleRss.mesh,
      idleRssAfterWarmupMiB: idleRssAfterWarmup,
      idleRssAnonMiB: idleAnon,
      // Per proxy over its measured windows: p99 and max (a bucket's upper bound) in ms, from its own
      // process_event_loop_delay_seconds; null for a proxy without it (a floor script).
      eventLoopDelay: perPair((pair) => ({ outbound: loopDelaySummary(loop[pair].outbound), inbound: loopDelaySummary(loop[pair].inbound) })),
      maxThroughputQps: max,
      maxThroughputQpsRounds: maxRuns,
      maxThroughputRatioToDirect: Object.fromEntries(PATHS.filter((p) => p.name !== 'direct').map((p) => [p.name, ratio(p.name)])) as Record<Exclude<PathName, 'direct'>, number>,
      // Every pair's figures side by side: our plaintext and meshed pairs, linkerd2-proxy, and the two floors.
      pairs: perPair((pair) => ({
        cpuMicrosPerRequest: cpuOf(pair),
        peakRssMiB: { outbound: round(peakRss[pair].outbound, 1), inbound: round(peakRss[pair].inbound, 1) },
        peakRssAnonMiB: { outbound: round(peakAnon[pair].outbound, 1), inbound: round(peakAnon[pair].inbound, 1) },
        idleRssMiB: idleRss[pair],
        idleRssAnonMiB: idleAnon[pair],
      })),
      // Ours over theirs (and over the floor): above 1 means ours costs more.
      ratios: {
        meshedToLinkerd: {
          cpuOutbound: round(cpuOf('mesh').outbound / cpuOf('linkerd').outbound, 2),
          cpuInbound: round(cpuOf('mesh').inbound / cpuOf('linkerd').inbound, 2),
          peakRssOutbound: round(peakRss.mesh.outbound / peakRss.linkerd.outbound, 2),
          peakRssAnonOutbound: round(peakAnon.mesh.outbound / peakAnon.linkerd.outbound, 2),
          maxThroughput: round((max['meshed'] ?? NaN) / (max['linkerd'] ?? NaN), 3),
        },
        // HTTP/1 between our proxies (TRELLIS_PROXY_MESH_HTTP1) over the HTTP/2 upgrade, the meshed floor and linkerd2-proxy.
        meshedH1ToMeshed: { cpuOutbound: round(cpuOf('meshH1').outbound / cpuOf('mesh').outbound, 2), cpuInbound: round(cpuOf('meshH1').inbound / cpuOf('mesh').inbound, 2) },
        meshedH1ToMeshedFloor: { cpuOutbound: round(cpuOf('meshH1').outbound / cpuOf('tlsFloor').outbound, 2), cpuInbound: round(cpuOf('meshH1').inbound / cpuOf('tlsFloor').inbound, 2) },
        meshedH1ToLinkerd: { cpuOutbound: round(cpuOf('meshH1').outbound / cpuOf('linkerd').outbound, 2), cpuInbound: round(cpuOf('meshH1').inbound / cpuOf('linkerd').inbound, 2) },
        meshedToMeshedFloor: { cpuOutbound: round(cpuOf('mesh').outbound / cpuOf('tlsFloor').outbound, 2), cpuInbound: round(cpuOf('mesh').inbound / cpuOf('tlsFloor').inbound, 2) },
        plainToFloor: { cpuOutbound: round(cpuOf('plain').outbound / cpuOf('floor').outbound, 2), cpuInbound: round(cpuOf('plain').inbound / cpuOf('floor').inbound, 2) },
        linkerdToMeshedFloor: { cpuOutbound: round(cpuOf('linkerd').outbound / cpuOf('tlsFloor').outbound, 2), cpuInbound: round(cpuOf('linkerd').inbound / cpuOf('tlsFloor').inbound, 2) },
      },
      errors: Object.fromEntries(PATHS.map((p) => [p.name, samples[p.name].reduce((n, s) => n + s.requests - s.ok, 0)])),
      goals: { cpuMicrosPerRequestPerProxy: 80, addedP50MsTwoProxies: 0.3, addedP99MsTwoProxies: 1, rssMiB: 60, eventLoopDelayP99Ms: 1, eventLoopDelayMaxMs: 5 },
      // --alloc: medians over the runs per path and proxy (JS heap bytes per request, GCs per window).
      allocation: Object.fromEntries(Object.entries(allocation).map(([path, w]) => [path, { outbound: allocMedians(w.outbound), inbound: allocMedians(w.inbound) }])),
      profileTopSelf: profile.plain,
      meshedProfileTopSelf: profile.mesh,
      meshedH1ProfileTopSelf: profile.meshH1,
      runs: samples,
    };
    const misses: string[] = [];
    const miss = (what: string, value: number, goal: number, unit: string) => {
      if (value > goal) misses.push(`${what} ${value} ${unit} vs goal ${goal} (x${round(value / goal, 1)})`);
    };
    for (const [label, c, rss, two] of [
      ['', result.cpuMicrosPerRequest, result.peakRssMiB, result.addedMs['outbound+inbound']],
      ['meshed ', result.meshedCpuMicrosPerRequest, result.meshedPeakRssMiB, result.addedMs.meshed],
    ] as const) {
      miss(`${label}CPU outbound`, c.outbound, 80, 'us/req');
      miss(`${label}CPU inbound`, c.inbound, 80, 'us/req');
      miss(`${label}added p50 (two proxies)`, two['p50'] ?? 0, 0.3, 'ms');
      miss(`${label}added p99 (two proxies)`, two['p99'] ?? 0, 1, 'ms');
      miss(`${label}RSS outbound`, rss.outbound, 60, 'MiB');
      miss(`${label}RSS inbound`, rss.inbound, 60, 'MiB');
    }
    for (const [pair, label] of [
      ['plain', ''],
      ['mesh', 'meshed '],
    ] as const)
      for (const side of ['outbound', 'inbound'] as const) {
        const d = result.eventLoopDelay[pair][side];
        if (d) {
          miss(`${label}loop delay p99 ${side}`, d.p99Ms, 1, 'ms');
          miss(`${label}loop delay max ${side}`, d.maxMsAtMost, 5, 'ms');
        }
      }
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    Object.assign(result, { goalsMissed: misses, loadAverage: load, loadAverageAtStart: loadAtStart });
    const variantsText = reportVariants(result, samples, pathCpu) + (args.cores ? reportCores(result, cpuOf, max, maxRuns, peakRss, peakAnon, idleAnon) : '');
    const json = JSON.stringify(result, null, 2) + '\n';
    try {
      writeFileSync(outFile, json);
    } catch (err) {
      // The run's figures are worth more than the file: print them rather than lose them.
      process.stderr.write(`cannot write ${outFile} (${(err as Error).message}); results follow\n${json}`);
    }
    const two = result.addedMs['outbound+inbound'];
    const meshed = result.addedMs.meshed;
    const lk = result.addedMs.linkerd;
    const tf = result.addedMs['meshed-floor'];
    const mh = result.addedMs['meshed-h1'];
    const hp = result.pairs.meshH1;
    const lp = result.pairs.linkerd;
    const r = result.ratios;
    const loopText = (pair: PairName) => {
      const d = result.eventLoopDelay[pair];
      const one = (x: ReturnType<typeof loopDelaySummary>) => (x ? `${x.p99Ms}/${x.maxMsAtMost}` : '-');
      return `loop delay p99/max ${one(d.outbound)} ${one(d.inbound)} ms (out in)`;
    };
    process.stdout.write(
      `proxy-overhead: ${rate} rps x ${seconds}s x ${runs}; two proxies add p50 ${two['p50']} ms, p99 ${two['p99']} ms, p99.9 ${two['p99.9']} ms; ` +
        `CPU ${result.cpuMicrosPerRequest.outbound}/${result.cpuMicrosPerRequest.inbound} us/req (out/in); ${loopText('plain')}; RSS ${result.peakRssMiB.outbound}/${result.peakRssMiB.inbound} MiB; ` +
        `max throughput ${result.maxThroughputRatioToDirect['outbound']}x (one) ${result.maxThroughputRatioToDirect['outbound+inbound']}x (two) of direct; ` +
        `meshed adds p50 ${meshed['p50']} ms, p99 ${meshed['p99']} ms, p99.9 ${meshed['p99.9']} ms; CPU ${result.meshedCpuMicrosPerRequest.outbound}/${result.meshedCpuMicrosPerRequest.inbound} us/req; ${loopText('mesh')}; ` +
        `RSS ${result.meshedPeakRssMiB.outbound}/${result.meshedPeakRssMiB.inbound} MiB (private ${result.pairs.mesh.peakRssAnonMiB.outbound}/${result.pairs.mesh.peakRssAnonMiB.inbound}); max ${result.maxThroughputRatioToDirect.meshed}x of direct; ` +
        `meshed-h1 adds p50 ${mh['p50']} ms, p99 ${mh['p99']} ms, p99.9 ${mh['p99.9']} ms; CPU ${hp.cpuMicrosPerRequest.outbound}/${hp.cpuMicrosPerRequest.inbound} us/req ` +
        `(h1/meshed ${r.meshedH1ToMeshed.cpuOutbound}/${r.meshedH1ToMeshed.cpuInbound}x, h1/TLS floor ${r.meshedH1ToMeshedFloor.cpuOutbound}/${r.meshedH1ToMeshedFloor.cpuInbound}x, h1/linkerd ${r.meshedH1ToLinkerd.cpuOutbound}/${r.meshedH1ToLinkerd.cpuInbound}x); ` +
        `RSS ${hp.peakRssMiB.outbound}/${hp.peakRssMiB.inbound} MiB; max ${result.maxThroughputRatioToDirect['meshed-h1']}x of direct; ` +
        `linkerd2-proxy adds p50 ${lk['p50']} ms, p99 ${lk['p99']} ms, p99.9 ${lk['p99.9']} ms; CPU ${lp.cpuMicrosPerRequest.outbound}/${lp.cpuMicrosPerRequest.inbound} us/req; ` +
        `RSS ${lp.peakRssMiB.outbound}/${lp.peakRssMiB.inbound} MiB (private ${lp.peakRssAnonMiB.outbound}/${lp.peakRssAnonMiB.inbound}); max ${result.maxThroughputRatioToDirect.linkerd}x of direct; ` +
        `ours/linkerd CPU ${r.meshedToLinkerd.cpuOutbound}/${r.meshedToLinkerd.cpuInbound}x, max ${r.meshedToLinkerd.maxThroughput}x; ` +
        `floors: llhttp CPU ${result.pairs.floor.cpuMicrosPerRequest.outbound}/${result.pairs.floor.cpuMicrosPerRequest.inbound} us/req (plain/floor ${r.plainToFloor.cpuOutbound}/${r.plainToFloor.cpuInbound}x), ` +
        `TLS CPU ${result.pairs.tlsFloor.cpuMicrosPerRequest.outbound}/${result.pairs.tlsFloor.cpuMicrosPerRequest.inbound} us/req, adds p50 ${tf['p50']} ms, p99 ${tf['p99']} ms (meshed/TLS floor ${r.meshedToMeshedFloor.cpuOutbound}/${r.meshedToMeshedFloor.cpuInbound}x, linkerd/TLS floor ${r.linkerdToMeshedFloor.cpuOutbound}/${r.linkerdToMeshedFloor.cpuInbound}x); ` +
        `${variantsText}${allocText(result.allocation)}${misses.length} goal(s) missed; load ${load}\n`,
    );
  } finally {
    teardown();
  }
}

process.on('SIGINT', () => {
  teardown();
  process.exit(130);
});
await main();
