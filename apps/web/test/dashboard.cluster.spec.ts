// The dashboard in real Chromium (Debian's, driven by playwright-core) at 1280x800, served by the real dashboard
// server over the real metrics API (its sources, against the test kube-apiserver holding the workloads and their
// meshed pods) and a real Prometheus. What Prometheus scrapes is the one fake here (fake-proxy-metrics.ts says
// why): four emojivoto workloads' proxy metrics, voting failing 20 % of web's calls. Screenshots are saved under
// .test-results/screenshots (git-ignored) and their paths printed, with the namespace page's first-render time.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import type { EdgesAnswer, HistoryAnswer, StatAnswer } from '../src/api-types.ts';
import { webConfig, WEB_SPEC } from '../src/config.ts';
import { buildUi } from '../src/ui-build/build.ts';
import { startWeb, type RunningWeb } from '../src/web.ts';
import { launchChromium, SCREENSHOTS } from './browser.ts';
import { startFakeTargets, type FakeTargets, type Flow, type Workload } from './fake-proxy-metrics.ts';
import { freePort, startMetricsApi, startPrometheus, type Running } from './processes.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const ns = `trellis-web-${randomBytes(3).toString('hex')}`;
const NAMES = ['emoji', 'vote-bot', 'voting', 'web'] as const;
const identity = (sa: string) => `${sa}.${ns}.serviceaccount.identity.trellis.cluster.local`;

function kubectl(args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}

/** A Deployment whose pods carry what the injector adds: the control-plane label and a proxy with its identity. */
const deployment = (name: string) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/proxy-deployment': name } },
        spec: {
          containers: [
            { name: 'app', image: `trellis/demo-${name}:0.1.0` },
            { name: 'linkerd-proxy', image: 'trellis/proxy:0.1.0', env: [{ name: 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME', value: '$(_pod_sa).$(_pod_ns).serviceaccount.identity.trellis.cluster.local' }] },
          ],
        },
      },
    },
  });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

async function dashboard(metricsApiUrl: string, prometheusUrl: string, assetsDir: string): Promise<RunningWeb> {
  const cli = parseCommandLine(WEB_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--metrics-api-url', metricsApiUrl, '--prometheus-url', prometheusUrl, '--grafana-url', 'http://grafana.example:3000', '--assets-dir', assetsDir]);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  return startWeb(webConfig(cli), { log: createLogger({ name: 'web', level: 'fatal', format: 'json' }), registry: createRegistry() });
}

let targets: FakeTargets | undefined;
let prometheus: Running | undefined;
let metricsApi: Running | undefined;
let web: RunningWeb | undefined;
let browser: Browser | undefined;
let assets: string;
let base: string;

async function open(hash: string): Promise<Page> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => console.error(`[web] page error: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && console.error(`[web] console error: ${msg.text()}`));
  await page.goto(`${base}/${hash}`);
  return page;
}

async function screenshot(page: Page, name: string, what: string): Promise<void> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  console.log(`[web] screenshot ${path}: ${what}`);
}

beforeAll(async () => {
  await kubectl(['create', 'namespace', ns]);
  for (const n of NAMES) await kubectl(['apply', '-f', '-'], deployment(n));
  // The pods come from the controller-manager's ReplicaSets; their names are the `pod` labels of the series.
  const pods = await until(
    'one pod per deployment',
    async () => {
      const items = (JSON.parse(await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])) as { items: { metadata: { name: string; labels: Record<string, string> } }[] }).items;
      return items.length === NAMES.length && new Map(items.map((p) => [p.metadata.labels['app'] as string, p.metadata.name]));
    },
    60_000,
  );
  const w = Object.fromEntries(NAMES.map((n) => [n, { namespace: ns, deployment: n, pod: pods.get(n) as string, identity: identity('default') }])) as Record<(typeof NAMES)[number], Workload>;
  const flows: Flow[] = [
    { from: w['vote-bot'], to: w.web, rps: 2, failureRatio: 0.06 },
    { from: w.web, to: w.emoji, rps: 3, failureRatio: 0 },
    { from: w.web, to: w.voting, rps: 2, failureRatio: 0.2 },
  ];
  targets = await startFakeTargets(Object.values(w), flows);
  const jobs = Object.values(w).map((x, i) => ({ targets: [targets?.addrs[i]], labels: { namespace: x.namespace, pod: x.pod, deployment: x.deployment, control_plane_ns: 'trellis' } }));
  prometheus = await startPrometheus(`global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n- job_name: linkerd-proxy\n  static_configs: ${JSON.stringify(jobs)}\n`);
  metricsApi = await startMetricsApi({ kubeconfig, prometheusUrl: prometheus.url });
  assets = await mkdtemp(join(tmpdir(), 'trellis-web-ui-'));
  await buildUi(assets);
  web = await dashboard(metricsApi.url, prometheus.url, assets);
  base = `http://127.0.0.1:${web.web.port}`;
  // Rates need a few scrapes, and the history's newest step a minute's window with samples in it: wait for both
  // through the dashboard's own API, so the page is measured rendering data, not waiting for it.
  await until(
    'voting below 100 % and the web -> voting edge',
    async () => {
      const stat = await getJson<StatAnswer>(`${base}/api/stat?resource=deploy&namespace=${ns}`);
      const voting = stat.rows.find((r) => r.resource.name === 'voting')?.stats?.successRate;
      const edges = await getJson<EdgesAnswer>(`${base}/api/edges?resource=deploy&namespace=${ns}`);
      return voting !== undefined && voting !== null && voting < 1 && edges.edges.some((e) => e.src.name === 'web' && e.dst.name === 'voting');
    },
    90_000,
  );
  await until('a point of history', async () => (await getJson<HistoryAnswer>(`${base}/api/history?resource=deploy/voting&namespace=${ns}&range=5m`)).series.rps.some((v) => v !== null), 90_000);
  browser = await launchChromium();
}, 20 * 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await metricsApi?.stop();
  await prometheus?.stop();
  await targets?.close();
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
});

describe('the dashboard in Chromium', () => {
  it('lists the namespace\'s four workloads with voting below 100 %, each of three loads', async () => {
    // Three loads of the page, each in a new tab, the first in a cold browser, each printed with its first-render
    // time and resource timings. The time is reported, not asserted: the machine is shared by other runs (load
    // averages above 20 on 2 cores were seen), and timing belongs to benchmarks, not tests.
    const renders: number[] = [];
    let page: Page | undefined;
    for (let i = 0; i < 3; i++) {
      await page?.close();
      page = await open(`#/namespaces/${ns}`);
      await expect.poll(() => (page as Page).locator('[data-testid=workloads] tbody tr').count(), { timeout: 10_000 }).toBe(4);
      const firstRenderMs = await page.evaluate(() => performance.getEntriesByName('trellis:namespace-rendered')[0]?.startTime ?? Number.NaN);
      const timings = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map((e) => `${e.name.replace(/^.*\//, '').replace(/\?.*$/, '')} ${e.startTime.toFixed(0)}-${(e as PerformanceResourceTiming).responseEnd.toFixed(0)}`)
          .join(', '),
      );
      console.log(`[web] namespace page load ${i + 1}: first render ${firstRenderMs.toFixed(0)} ms after navigation start (workloads on screen); resources (ms): ${timings}`);
      renders.push(firstRenderMs);
    }
    const sorted = [...renders].sort((a, b) => a - b);
    console.log(`[web] namespace page first render: best ${(sorted[0] as number).toFixed(0)} ms, median ${(sorted[1] as number).toFixed(0)} ms of ${renders.map((r) => r.toFixed(0)).join(', ')} ms`);
    expect(renders.every((r) => Number.isFinite(r)), 'every load marks its first render').toBe(true);
    page = page as Page;
    const rows = page.locator('[data-testid=workloads] tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name')))).toEqual(['emoji', 'vote-bot', 'voting', 'web']);
    const rate = async (name: string) => Number(await page.locator(`[data-testid=workloads] tr[data-name="${name}"] [data-success-rate]`).getAttribute('data-success-rate'));
    expect(await rate('voting')).toBeGreaterThan(0.7);
    expect(await rate('voting')).toBeLessThan(1);
    expect(await rate('emoji')).toBe(1);
    // What a user reads: voting's rate in red, every workload meshed, vote-bot with nothing served.
    const voting = page.locator('[data-testid=workloads] tr[data-name="voting"]');
    await expect.poll(() => voting.locator('.sr').getAttribute('class')).toMatch(/^sr sr-(warn|bad)$/);
    expect(await voting.locator('td').nth(2).innerText()).toBe('1/1');
    expect(await page.locator('[data-testid=workloads] tr[data-name="vote-bot"] [data-success-rate]').innerText()).toBe('-');
    await screenshot(page, 'namespace', 'the namespace page at 1280x800: four workloads, voting\'s success rate in red, and the top of the topology graph');
    await page.close();
  });

  it('draws the graph with web -> voting over mTLS, its failing calls marked', async () => {
    const page = await open(`#/namespaces/${ns}`);
    const edge = page.locator('[data-testid=edges] tr[data-edge="web>voting"]');
    await edge.waitFor({ timeout: 10_000 });
    expect(await edge.innerText()).toMatch(/^web\s+voting\s+\u2713 mTLS\s+[78]\d\.\d%/);
    expect(await edge.locator('.sr').getAttribute('class')).toBe('sr sr-bad');
    expect(await page.locator('[data-testid=edges] tr[data-edge="web>emoji"] .sr').getAttribute('class')).toBe('sr sr-good');
    const graph = page.locator('[data-testid=graph]');
    expect((await graph.getAttribute('data-edges'))?.split(' ').sort()).toEqual([`${ns}/deployment/vote-bot>${ns}/deployment/web`, `${ns}/deployment/web>${ns}/deployment/emoji`, `${ns}/deployment/web>${ns}/deployment/voting`]);
    // Cytoscape drew on its canvas: some pixels are the failing edge's red (#cf222e).
    await expect
      .poll(
        () =>
          graph.evaluate((el) => {
            let red = 0;
            for (const c of el.querySelectorAll('canvas')) {
              const ctx = (c as HTMLCanvasElement).getContext('2d');
              if (!ctx || c.width === 0) continue;
              const d = ctx.getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < d.length; i += 4) if (Math.abs((d[i] as number) - 0xcf) < 12 && Math.abs((d[i + 1] as number) - 0x22) < 12 && Math.abs((d[i + 2] as number) - 0x2e) < 12) red++;
            }
            return red;
          }),
        { timeout: 10_000 },
      )
      .toBeGreaterThan(50);
    await page.locator('h2', { hasText: 'Topology' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'topology', 'the namespace\'s topology graph: vote-bot -> web -> emoji and voting, solid (mTLS) edges, web -> voting in red, with the edge table beside it');
    await page.close();
  });

  it("draws a workload's charts from Prometheus' history, with its callers and the identities of its connections", async () => {
    // A few points of history, so that the charts have lines to draw, not only dots.
    await until('four points of history', async () => (await getJson<HistoryAnswer>(`${base}/api/history?resource=deploy/voting&namespace=${ns}&range=1h`)).series.rps.filter((v) => v !== null).length >= 4, 120_000);
    const page = await open(`#/namespaces/${ns}/deployment/voting`);
    // What the page says while the charts are not there (a history query's error banner, still loading), for a failure.
    await page.locator('[data-testid=chart-success]').waitFor({ timeout: 45_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nthe page shows: ${(await page.locator('body').innerText().catch(() => '?')).slice(0, 2000)}`);
    });
    for (const chart of ['chart-success', 'chart-rps', 'chart-latency']) {
      const fig = page.locator(`[data-testid=${chart}]`);
      await expect.poll(async () => Number(await fig.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0);
      expect(await fig.locator('canvas').count(), chart).toBeGreaterThan(0);
    }
    // The charts' legends show the newest values; the success line sits below 100 %.
    const inbound = page.locator('[data-testid=inbound] tr[data-name="web"]');
    await inbound.waitFor({ timeout: 10_000 });
    expect(Number(await inbound.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeLessThan(1);
    expect(await page.locator('[data-testid=workload-edges]').innerText()).toContain(identity('default'));
    // The routes it serves, from its profile route series: the one route, failing as the workload does.
    const route = page.locator('[data-testid=routes] tr[data-route="POST /vote"]');
    await route.waitFor({ timeout: 10_000 });
    expect(await route.locator('td').nth(1).innerText()).toBe('voting-svc');
    expect(Number(await route.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeLessThan(1);
    expect(Number(await route.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeGreaterThan(0.7);
    expect(await page.locator('a.grafana').first().getAttribute('href')).toBe(`http://grafana.example:3000/d/trellis-deployment/?var-namespace=${ns}&var-deployment=voting`);
    await screenshot(page, 'workload', 'voting\'s page: golden metrics, the last hour of success rate, RPS and P50/P95/P99 from Prometheus, web as its caller, its route POST /vote below 100 %, the connection identities');
    await page.locator('[data-testid=routes]').scrollIntoViewIfNeeded();
    await screenshot(page, 'workload-routes', "voting's routes table: POST /vote on voting-svc (its ServiceProfile route), its success rate in red, RPS and P50/P95/P99");
    // The range buttons ask Prometheus again: the last 5 minutes hold the same points on a finer grid.
    await page.getByRole('button', { name: '5m' }).click();
    await expect.poll(async () => Number(await page.locator('[data-testid=chart-rps]').getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(8);
    await screenshot(page, 'workload-5m', 'voting\'s page with the 5-minute range: the same series on a 5 s grid, lines across the charts');
    await page.close();
  }, 180_000);

  it('lists the namespace on the overview with its meshed pods and traffic, and links to it', async () => {
    const page = await open('#/');
    const row = page.locator(`[data-testid=namespaces] tr[data-name="${ns}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td').nth(1).innerText()).toBe('4/4');
    // The page replaced index.html's placeholder rather than rendering beside it.
    expect(await page.getByText('Loading the Trellis dashboard').count()).toBe(0);
    expect(Number(await row.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeLessThan(1);
    await screenshot(page, 'overview', 'the overview: every namespace with meshed pods and golden metrics, the test namespace 4/4 meshed and below 100 %');
    await row.locator('a', { hasText: ns }).click();
    await page.locator('[data-testid=workloads] tr[data-name="voting"]').waitFor({ timeout: 10_000 });
    expect(page.url()).toBe(`${base}/#/namespaces/${ns}`);
    await page.close();
  });

  it("draws the whole mesh's topology across namespaces", async () => {
    const page = await open('#/topology');
    const graph = page.locator('[data-testid=graph]');
    await expect.poll(async () => (await graph.getAttribute('data-edges'))?.split(' ') ?? [], { timeout: 10_000 }).toContain(`${ns}/deployment/web>${ns}/deployment/voting`);
    expect(await page.locator('[data-testid=edges] tr[data-edge="vote-bot>web"]').innerText()).toContain('\u2713 mTLS');
    await page.close();
  });

  it('says plainly when the metrics API is away, naming its URL', async () => {
    const port = await freePort();
    const away = await dashboard(`http://127.0.0.1:${port}`, (prometheus as Running).url, assets);
    try {
      const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`http://127.0.0.1:${away.web.port}/#/namespaces/${ns}`);
      const banner = page.locator('.error').first();
      await banner.waitFor({ timeout: 10_000 });
      expect(await banner.innerText()).toBe(`TRELLIS_ERR_UPSTREAM_UNREACHABLE the metrics API at http://127.0.0.1:${port} is unreachable: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
      await page.close();
    } finally {
      await away.close();
    }
  });
});
