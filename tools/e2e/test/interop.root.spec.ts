// Wire compatibility with Linkerd on a three-node cluster (needs root): Linkerd's own proxy, linkerd2-proxy,
// meshes pods next to Trellis' proxy under Trellis' control plane with the chart's defaults. Every path between
// the two proxies carries HTTP/1 (to a strict server that answers with the raw request head it got, so exactly
// one Host line is asserted), gRPC, and a server-speaks-first protocol on an opaque port; linkerd2-proxy enforces
// a Trellis AuthorizationPolicy, and both follow a rolling restart of destination under values-ha.yaml, whose
// required anti-affinity spreads the replicas one per node. One node cluster runs per machine: this file runs after
// the journey's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { down } from '@trellis/cluster/src/control-plane.ts';
import { podLogs } from '@trellis/cluster/src/logs.ts';
import { join } from 'node:path';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { helm, httpGet, kubectl, kubectlInput, longRunning, until, type Cluster } from '../src/kube.ts';
import { millisUntil } from '../src/rollout.ts';
import { PROXY_CONTAINER, Phases, TRELLIS_NS, controlPlaneReady, installTrellis, loadNodeImages, makeCertificates, startCluster } from '../src/journey.ts';
import { parseMetrics, select, type Sample } from '../src/prom.ts';
import { hostLines } from '../src/peers/raw-http.ts';
import { bannerFor } from '../src/peers/banner.ts';
import { PEER_PORTS } from '../src/peers/ports.ts';
import {
  INTEROP_NS,
  grpcOnlyFrom,
  WORKLOADS,
  fromPod,
  interopIdentity,
  interopManifests,
  interopPod,
  serverHost,
  serviceIp,
  type BannerResult,
  type GrpcResult,
  type HttpResult,
  type Workload,
} from '../src/interop.ts';

const NODE_WAIT_MS = 15 * 60_000;
/** Three nodes, so the HA values' required anti-affinity can place three replicas of each controller. */
const NODES = 3;
const MINUTE = 60_000;
const phases = new Phases((line) => console.log(`[interop] ${line}`));
let dir: string;
let cluster: Cluster;

const metricsOf = async (w: Workload) => parseMetrics((await httpGet(`http://${(await interopPod(cluster, w)).status.podIP}:4191/metrics`)).text);
const lines = (s: readonly Sample[]) => s.map((x) => x.line).join('\n');
const positive = (s: readonly Sample[]) => s.length > 0 && s.some((x) => x.value > 0);

beforeAll(async () => {
  dir = await mkdtemp('/tmp/trellis-interop-');
});

afterAll(async () => {
  if (dir) await down(dir);
  console.log(`[interop] phase durations:\n${phases.summary()}`);
}, 120_000);

describe('linkerd2-proxy and Trellis\' proxy in one mesh', () => {
  it('runs linkerd2-proxy as the sidecar of pods the injector meshes with the chart defaults, Ready beside Trellis-meshed pods', async () => {
    cluster = await phases.run(`cluster up (${NODES} nodes)`, () => startCluster(dir, NODE_WAIT_MS, (l) => console.log(`[interop] cluster: ${l}`), NODES));
    await phases.run('images built and loaded', () => loadNodeImages(cluster, (l) => console.log(`[interop] ${l}`)));
    const certs = await phases.run('certificates', () => makeCertificates(dir));
    await phases.run('helm install', () => installTrellis(cluster, certs));
    await phases.run('control plane Ready', () => controlPlaneReady(cluster, 1, 4 * MINUTE));
    await kubectlInput(cluster, interopManifests(), 'apply', '-f', '-');
    await phases.run('interop workloads Ready', async () => {
      for (const w of WORKLOADS) await kubectl(cluster, '-n', INTEROP_NS, 'rollout', 'status', `deploy/${w}`, '--timeout=180s');
    });
    for (const w of WORKLOADS) {
      const p = await interopPod(cluster, w);
      const proxy = [...(p.spec.initContainers ?? []), ...p.spec.containers].find((c) => c.name === PROXY_CONTAINER) as { image?: string } | undefined;
      expect(proxy?.image, w).toMatch(w.startsWith('l-') ? /^cr\.l5d\.io\/linkerd\/proxy:/ : /trellis\/proxy:/);
      expect(longRunning(p).every((c) => c.ready), `${w}: ${JSON.stringify(p.status.containerStatuses)}`).toBe(true);
    }
    const build = select(await metricsOf('l-server'), 'proxy_build_info', {});
    console.log(`[interop] l-server's proxy: ${lines(build)}`);
    expect(build.length).toBe(1);
  }, NODE_WAIT_MS + 10 * MINUTE);

  // Each path's raw Host lines as the server app received them: exactly one, never zero or two.
  const HTTP_PATHS: [Workload, Workload, string][] = [
    ['t-client', 't-server', 'Trellis -> Trellis'],
    ['t-client', 'l-server', 'Trellis -> linkerd2-proxy'],
    ['l-client', 't-server', 'linkerd2-proxy -> Trellis'],
  ];
  it.each(HTTP_PATHS)('delivers HTTP/1 from %s to %s (%s) with one Host line to a strict server', async (client, server, path) => {
    const url = `http://${await serviceIp(cluster, server)}:${PEER_PORTS.http}/interop`;
    const r = await until(cluster, `${client} -> ${server} over HTTP/1 answered by the app`, async () => {
      const res = await fromPod<HttpResult>(cluster, client, ['http', url, serverHost(server)]);
      return res.status !== undefined && res.status !== 502 && res.status !== 503 && res;
    }, MINUTE);
    console.log(`[interop] ${path}: HTTP ${r.status}; Host lines at the app: ${JSON.stringify(hostLines(r.body ?? ''))}\n${r.body}`);
    expect(r.status, r.body).toBe(200);
    const hosts = hostLines(r.body!);
    expect(hosts).toHaveLength(1);
    expect(hosts[0]!.replace(/^host:\s*/i, '')).toBe(serverHost(server));
  }, 2 * MINUTE);

  it('carries gRPC across both proxies with mTLS: the server app sees the caller\'s identity in l5d-client-id', async () => {
    for (const [client, server] of [['l-client', 't-server'], ['t-client', 'l-server'], ['t-client', 't-server']] as [Workload, Workload][]) {
      const target = `${await serviceIp(cluster, server)}:${PEER_PORTS.grpc}`;
      const r = await until(cluster, `${client} -> ${server} over gRPC`, async () => {
        const res = await fromPod<GrpcResult>(cluster, client, ['grpc', target]);
        return res.code === 0 && res;
      }, MINUTE);
      console.log(`[interop] gRPC ${client} -> ${server}: ${JSON.stringify(r.reply)}`);
      expect(r.reply?.clientId).toBe(interopIdentity(client));
    }
  }, 4 * MINUTE);

  it('shows mTLS with both identities in both proxies\' request metrics', async () => {
    // linkerd2-proxy (l-client) -> Trellis (t-server), and Trellis (t-client) -> linkerd2-proxy (l-server).
    for (const [client, server] of [['l-client', 't-server'], ['t-client', 'l-server']] as [Workload, Workload][]) {
      const [c, s] = await Promise.all([metricsOf(client), metricsOf(server)]);
      const out = select(c, 'request_total', { direction: 'outbound', tls: 'true', server_id: interopIdentity(server) });
      const inb = select(s, 'request_total', { direction: 'inbound', tls: 'true', client_id: interopIdentity(client) });
      console.log(`[interop] ${client}'s proxy, outbound:\n${lines(out)}\n[interop] ${server}'s proxy, inbound:\n${lines(inb)}`);
      expect(positive(out), `${client} outbound to ${server}`).toBe(true);
      expect(positive(inb), `${server} inbound from ${client}`).toBe(true);
    }
  }, MINUTE);

  it('relays a server-speaks-first protocol on an opaque port (3306) between every pair of proxies, with bytes counted on both sides', async () => {
    const pairs: [Workload, Workload][] = [['t-client', 't-server'], ['t-client', 'l-server'], ['l-client', 't-server'], ['l-client', 'l-server']];
    for (const [client, server] of pairs) {
      const ip = await serviceIp(cluster, server);
      const r = await until(cluster, `${client} -> ${server}:${PEER_PORTS.banner} banner`, async () => {
        const res = await fromPod<BannerResult>(cluster, client, ['banner', ip, String(PEER_PORTS.banner)]);
        return res.banner !== undefined && res;
      }, MINUTE);
      const pod = await interopPod(cluster, server);
      console.log(`[interop] opaque ${client} -> ${server}: banner ${JSON.stringify(r.banner)} echo ${JSON.stringify(r.echo)}`);
      expect(r.banner).toBe(bannerFor(pod.metadata.name));
      expect(r.echo).toBe('ping\n');
    }
    for (const w of WORKLOADS) {
      const m = await metricsOf(w);
      const tcp = [...select(m, 'tcp_read_bytes_total', {}), ...select(m, 'tcp_write_bytes_total', {})].filter((s) => s.line.includes(`${PEER_PORTS.banner}"`) && s.labels['tls'] === 'true');
      console.log(`[interop] ${w}'s proxy, tcp bytes for port ${PEER_PORTS.banner} over mTLS:\n${lines(tcp)}`);
      expect(positive(tcp), w).toBe(true);
    }
  }, 5 * MINUTE);

  it('enforces a Trellis AuthorizationPolicy in linkerd2-proxy: Trellis\' client denied with PERMISSION_DENIED, the admitted identity served', async () => {
    const target = `${await serviceIp(cluster, 'l-server')}:${PEER_PORTS.grpc}`;
    await kubectlInput(cluster, grpcOnlyFrom('l-server', 'l-client'), 'apply', '-f', '-');
    const denied = await phases.run('authorization enforced by linkerd2-proxy', () =>
      until(cluster, 't-client -> l-server gRPC refused with PERMISSION_DENIED (7)', async () => {
        const res = await fromPod<GrpcResult>(cluster, 't-client', ['grpc', target]);
        return res.code === 7 && res;
      }, MINUTE),
    );
    const allowed = await fromPod<GrpcResult>(cluster, 'l-client', ['grpc', target]);
    console.log(`[interop] t-client -> l-server: ${JSON.stringify(denied)}; l-client -> l-server: ${JSON.stringify(allowed)}`);
    expect(allowed.code).toBe(0);
    expect(allowed.reply?.clientId).toBe(interopIdentity('l-client'));
    const m = await metricsOf('l-server');
    const refused = select(m, 'inbound_http_authz_deny_total', { srv_name: 'l-server-grpc' });
    console.log(`[interop] l-server's proxy:\n${lines(refused)}`);
    expect(positive(refused)).toBe(true);
    await kubectlInput(cluster, grpcOnlyFrom('l-server', 'l-client'), 'delete', '-f', '-');
  }, 3 * MINUTE);

  it('leaves no error in linkerd2-proxy\'s log about Trellis\' control plane', async () => {
    for (const w of ['l-server', 'l-client'] as const) {
      const log = await podLogs(dir, INTEROP_NS, (await interopPod(cluster, w)).metadata.name, PROXY_CONTAINER);
      const bad = log.split('\n').filter((l) => /\bERROR\b/.test(l) && /control|identity|destination|policy/i.test(l));
      expect(bad, `${w}'s linkerd2-proxy log`).toEqual([]);
    }
  }, MINUTE);

  it('follows a rolling restart of three destination replicas: a policy applied right after is enforced by both proxies within 5 s', async () => {
    const cp = await phases.run('values-ha.yaml: three replicas of each controller, one per node', async () => {
      await helm(cluster, 'upgrade', 'trellis-control-plane', join(REPO_ROOT, 'helm/trellis-control-plane'), '-n', TRELLIS_NS, '--reuse-values', '-f', join(REPO_ROOT, 'helm/trellis-control-plane/values-ha.yaml'));
      return controlPlaneReady(cluster, 3, 5 * MINUTE);
    });
    const destinations = cp.filter((p) => p.metadata.labels?.['linkerd.io/control-plane-component'] === 'destination');
    expect(new Set(destinations.map((p) => p.spec.nodeName)).size).toBe(NODES);
    await phases.run('destination rolled one replica at a time', async () => {
      await kubectl(cluster, '-n', TRELLIS_NS, 'rollout', 'restart', 'deploy/trellis-destination');
      await kubectl(cluster, '-n', TRELLIS_NS, 'rollout', 'status', 'deploy/trellis-destination', '--timeout=300s');
    });
    const rolled = Date.now();
    await kubectlInput(cluster, `${grpcOnlyFrom('t-server', 'l-client')}---\n${grpcOnlyFrom('l-server', 'l-client')}`, 'apply', '-f', '-');
    // Both servers probed at once: probing one after the other would add the first one's wait to the second's time.
    const servers = ['t-server', 'l-server'] as const;
    const measured = await Promise.all(servers.map(async (server) => {
      const target = `${await serviceIp(cluster, server)}:${PEER_PORTS.grpc}`;
      return millisUntil(cluster, `t-client -> ${server} gRPC refused with PERMISSION_DENIED`, rolled, async () => (await fromPod<GrpcResult>(cluster, 't-client', ['grpc', target])).code === 7, MINUTE);
    }));
    const times = servers.map((server, i) => `${server} (${server.startsWith('l-') ? 'linkerd2-proxy' : 'Trellis'}) ${measured[i]} ms`);
    console.log(`[interop] after the rolling restart, policy enforced: ${times.join(', ')} after the rollout completed`);
    servers.forEach((server, i) => expect(measured[i], server).toBeLessThan(5000));
  }, 12 * MINUTE);
});
