// Proxy overhead benchmark: fortio at a constant rate through three paths in one run (direct, one outbound
// proxy, outbound + inbound proxies), runs interleaved; then closed-loop max throughput per path. See README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..', '..', '..');
const resultsDir = join(root, 'tools', 'bench', 'results');
const proxySource = join(root, 'apps', 'proxy', 'src', 'main.ts');
// A bundle like the image's (built here with esbuild, without the type check the nx target adds): running the
// .ts source would load Node's type stripper, ~40 MiB of RSS that a deployed proxy does not carry.
const proxyMain = join(root, 'dist', 'bench', 'proxy', 'main.js');
const proxyInitMain = join(root, 'apps', 'proxy-init', 'src', 'main.ts');
const NODE = process.execPath;

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    'payload-size': { type: 'string', default: '1024' },
    'max-seconds': { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    // Extra V8/Node flags for the proxies, e.g. --node-options=--max-semi-space-size=2
    'node-options': { type: 'string', default: '' },
  },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const runs = Number(args.runs);
const connections = String(Number(args.connections));
const payload = String(Number(args['payload-size']));

const fortio = execFileSync(join(root, 'tools', 'bin', 'ensure'), ['fortio']).toString().trim();
const sh = (cmd: string, ...a: string[]) => execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// Paths are told apart by port: the client pod ignores 8080 outbound; the server pod ignores 8080 and 8081 inbound.
const PATHS = [
  { name: 'direct', port: 8080 },
  { name: 'outbound', port: 8081 },
  { name: 'outbound+inbound', port: 8082 },
] as const;
type PathName = (typeof PATHS)[number]['name'];

const tag = `trellis-bench-${process.pid}`;
const clientNs = `${tag}-client`;
const serverNs = `${tag}-server`;
const CLIENT_IP = '10.244.93.1';
const SERVER_IP = '10.244.93.2';
const children: ChildProcess[] = [];

function setup(): void {
  for (const ns of [clientNs, serverNs]) {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  sh('ip', '-n', clientNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', serverNs);
  for (const [ns, ip] of [
    [clientNs, CLIENT_IP],
    [serverNs, SERVER_IP],
  ] as const) {
    sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  }
  const common = ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102'];
  sh(NODE, proxyInitMain, '--netns', `/run/netns/${clientNs}`, ...common, '--inbound-ports-to-ignore', '4190,4191', '--outbound-ports-to-ignore', '8080');
  sh(NODE, proxyInitMain, '--netns', `/run/netns/${serverNs}`, ...common, '--inbound-ports-to-ignore', '4190,4191,8080,8081');
}

function teardown(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const ns of [clientNs, serverNs]) {
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
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (marker.test(out)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${out}`)));
  });
}

function startProxy(ns: string, ip: string, profileDir: string | undefined): Promise<ChildProcess> {
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(args['node-options'] ? args['node-options'].split(' ') : [])];
  return startIn(
    ns,
    [NODE, ...nodeArgs, proxyMain],
    {
      TRELLIS_PROXY_PLAINTEXT: 'true',
      LINKERD2_PROXY_LOG: 'warn,linkerd=info',
      LINKERD2_PROXY_INBOUND_IPS: ip,
      LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
      LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '2s',
    },
    /proxy listening/,
    2102,
  );
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

interface FortioResult {
  readonly qps: number;
  readonly requests: number;
  readonly ok: number;
  readonly percentilesMs: Record<string, number>;
}

function runFortio(port: number, qps: number, secs: number): Promise<FortioResult> {
  const out = mkdtempSync(join(tmpdir(), 'fortio-'));
  const json = join(out, 'r.json');
  const argv = ['load', '-quiet', '-qps', String(qps), '-c', connections, '-t', `${secs}s`, '-payload-size', payload, '-p', '50,90,99,99.9', '-json', json];
  if (qps > 0) argv.push('-uniform');
  argv.push(`http://${SERVER_IP}:${port}/echo`);
  const child = spawn('ip', ['netns', 'exec', clientNs, fortio, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Self time per function from a V8 .cpuprofile, top N. */
function topFunctions(dir: string, n = 12): { fn: string; selfPercent: number }[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return [];
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const counts = new Map<string, number>();
  for (const id of prof.samples) {
    const cf = byId.get(id)?.callFrame;
    const key = cf ? `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : '?';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = prof.samples.length || 1;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, c]) => ({ fn, selfPercent: round((100 * c) / total, 1) }));
}

function bundleProxy(): void {
  const banner = "import { createRequire as __trellisRequire } from 'node:module'; const require = __trellisRequire(import.meta.url);";
  execFileSync(
    join(root, 'node_modules', '.bin', 'esbuild'),
    [proxySource, '--bundle', '--platform=node', '--format=esm', '--target=node24', '--external:*.node', `--outfile=${proxyMain}`, `--banner:js=${banner}`, '--log-level=warning'],
    { stdio: 'inherit' },
  );
}

async function main(): Promise<void> {
  bundleProxy();
  setup();
  const profileDir = args.profile ? mkdtempSync(join(tmpdir(), 'proxy-prof-')) : undefined;
  if (profileDir) chmodSync(profileDir, 0o777);
  try {
    for (const p of PATHS) await startIn(serverNs, [fortio, 'server', '-http-port', `${SERVER_IP}:${p.port}`, '-grpc-port', 'disabled', '-redirect-port', 'disabled'], {}, /(Fortio|fortio).*(server|listening)|All fortio/i);
    const outbound = await startProxy(clientNs, CLIENT_IP, profileDir);
    const inbound = await startProxy(serverNs, SERVER_IP, undefined);
    const pids = { outbound: outbound.pid as number, inbound: inbound.pid as number };

    const idleRss = { outbound: round(rssMiB(pids.outbound), 1), inbound: round(rssMiB(pids.inbound), 1) };
    // Warm-up: JIT and pools, not measured.
    for (const p of PATHS) await runFortio(p.port, rate, 3);

    const samples: Record<PathName, FortioResult[]> = { direct: [], outbound: [], 'outbound+inbound': [] };
    const cpu: { outbound: number[]; inbound: number[] } = { outbound: [], inbound: [] };
    const userShare: number[] = [];
    let peakRss = { outbound: 0, inbound: 0 };
    const sampler = setInterval(() => {
      peakRss = { outbound: Math.max(peakRss.outbound, rssMiB(pids.outbound)), inbound: Math.max(peakRss.inbound, rssMiB(pids.inbound)) };
    }, 200);
    for (let run = 0; run < runs; run++) {
      for (const p of PATHS) {
        const before = { outbound: cpuMicros(pids.outbound), inbound: cpuMicros(pids.inbound) };
        const split0 = cpuSplit(pids.outbound);
        const r = await runFortio(p.port, rate, seconds);
        samples[p.name].push(r);
        if (p.name === 'outbound+inbound') {
          cpu.outbound.push((cpuMicros(pids.outbound) - before.outbound) / r.requests);
          cpu.inbound.push((cpuMicros(pids.inbound) - before.inbound) / r.requests);
          const split1 = cpuSplit(pids.outbound);
          const user = split1.user - split0.user;
          userShare.push(user / Math.max(1, user + split1.system - split0.system));
        }
        process.stderr.write(`run ${run + 1}/${runs} ${p.name}: p50 ${round(r.percentilesMs['p50'] ?? 0)} ms, p99 ${round(r.percentilesMs['p99'] ?? 0)} ms, ${r.ok}/${r.requests} ok\n`);
      }
    }
    clearInterval(sampler);

    const max: Record<string, number> = {};
    for (const p of PATHS) max[p.name] = (await runFortio(p.port, 0, Number(args['max-seconds']))).qps;

    const pct = ['p50', 'p90', 'p99', 'p99.9'];
    const medians = Object.fromEntries(PATHS.map((p) => [p.name, Object.fromEntries(pct.map((k) => [k, round(median(samples[p.name].map((s) => s.percentilesMs[k] ?? 0)))]))])) as Record<
      PathName,
      Record<string, number>
    >;
    const added = (path: PathName) => Object.fromEntries(pct.map((k) => [k, round((medians[path][k] ?? 0) - (medians.direct[k] ?? 0))]));

    let profile: { fn: string; selfPercent: number }[] = [];
    if (profileDir) {
      outbound.kill('SIGTERM');
      await new Promise((r) => outbound.once('exit', r));
      profile = topFunctions(profileDir);
    }

    const result = {
      benchmark: 'proxy-overhead',
      when: new Date().toISOString(),
      settings: { rate, seconds, runs, connections: Number(connections), payloadBytes: Number(payload), nodeOptions: args['node-options'] },
      latencyMsMedianOfRuns: medians,
      addedMs: { outbound: added('outbound'), 'outbound+inbound': added('outbound+inbound') },
      cpuMicrosPerRequest: { outbound: round(median(cpu.outbound), 1), inbound: round(median(cpu.inbound), 1) },
      outboundUserCpuShare: round(median(userShare), 2),
      peakRssMiB: { outbound: round(peakRss.outbound, 1), inbound: round(peakRss.inbound, 1) },
      idleRssMiB: idleRss,
      maxThroughputQps: max,
      maxThroughputRatioToDirect: { outbound: round((max['outbound'] ?? 0) / (max['direct'] ?? 1)), 'outbound+inbound': round((max['outbound+inbound'] ?? 0) / (max['direct'] ?? 1)) },
      errors: Object.fromEntries(PATHS.map((p) => [p.name, samples[p.name].reduce((n, s) => n + s.requests - s.ok, 0)])),
      goals: { cpuMicrosPerRequestPerProxy: 80, addedP50MsTwoProxies: 0.3, addedP99MsTwoProxies: 1, rssMiB: 60 },
      profileTopSelf: profile,
      runs: samples,
    };
    const misses: string[] = [];
    const miss = (what: string, value: number, goal: number, unit: string) => {
      if (value > goal) misses.push(`${what} ${value} ${unit} vs goal ${goal} (x${round(value / goal, 1)})`);
    };
    miss('CPU outbound', result.cpuMicrosPerRequest.outbound, 80, 'us/req');
    miss('CPU inbound', result.cpuMicrosPerRequest.inbound, 80, 'us/req');
    miss('added p50 (two proxies)', result.addedMs['outbound+inbound']['p50'] ?? 0, 0.3, 'ms');
    miss('added p99 (two proxies)', result.addedMs['outbound+inbound']['p99'] ?? 0, 1, 'ms');
    miss('RSS outbound', result.peakRssMiB.outbound, 60, 'MiB');
    miss('RSS inbound', result.peakRssMiB.inbound, 60, 'MiB');
    Object.assign(result, { goalsMissed: misses, loadAverage: readFileSync('/proc/loadavg', 'utf8').trim() });
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'proxy-overhead.json'), JSON.stringify(result, null, 2) + '\n');
    const two = result.addedMs['outbound+inbound'];
    process.stdout.write(
      `proxy-overhead: ${rate} rps x ${seconds}s x ${runs}; two proxies add p50 ${two['p50']} ms, p99 ${two['p99']} ms, p99.9 ${two['p99.9']} ms; ` +
        `CPU ${result.cpuMicrosPerRequest.outbound}/${result.cpuMicrosPerRequest.inbound} us/req (out/in); RSS ${result.peakRssMiB.outbound}/${result.peakRssMiB.inbound} MiB; ` +
        `max throughput ${result.maxThroughputRatioToDirect['outbound']}x (one) ${result.maxThroughputRatioToDirect['outbound+inbound']}x (two) of direct; ` +
        `${misses.length} goal(s) missed\n`,
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
