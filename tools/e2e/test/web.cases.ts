// The dashboard on the demo, in real Chromium (Debian's, driven by playwright-core): the web bundle on the host
// beside the metrics API and Prometheus that emojivoto.root.spec.ts starts, then what a user must see. Called from
// the viz test there, while its Prometheus and metrics API run:
//   await dashboardCase({ prometheusUrl: prometheus.url, metricsApiUrl: apiUrl, namespace: DEMO_NS })
// Screenshots go to tools/e2e/.test-results/screenshots (git-ignored); their paths and the namespace page's
// first-render time are printed. With viz installed, the dashboard's own pod and its live tap:
//   await dashboardLiveTapCase(cluster)   // web's workload page taps web through the tap API: lines with tls=true
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { REPO_ROOT } from '@trellis/cluster/src/tools.ts';
import { pods, until, type Cluster } from '../src/kube.ts';

export const WEB_BUNDLE = join(REPO_ROOT, 'dist/apps/web/main.js');
const CHROMIUM = process.env['TRELLIS_CHROMIUM'] ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '..', '.test-results', 'screenshots');

export interface DashboardCaseInput {
  readonly prometheusUrl: string;
  readonly metricsApiUrl: string;
  /** The demo's namespace. */
  readonly namespace: string;
}

export interface DashboardCaseResult {
  readonly firstRenderMs: number;
  readonly screenshots: readonly { readonly path: string; readonly what: string }[];
}

async function startWebBundle(o: DashboardCaseInput): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [WEB_BUNDLE, '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--metrics-api-url', o.metricsApiUrl, '--prometheus-url', o.prometheusUrl, '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const addr = /"web":"(127\.0\.0\.1:\d+)"/.exec(log)?.[1];
    if (addr) return { url: `http://${addr}`, child };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the web bundle did not start:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function dashboardCase(o: DashboardCaseInput): Promise<DashboardCaseResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (tools/scripts/install-system.sh does), or set TRELLIS_CHROMIUM`);
  await mkdir(SCREENSHOTS, { recursive: true });
  const web = await startWebBundle(o);
  let browser: Browser | undefined;
  const shots: { path: string; what: string }[] = [];
  const shoot = async (page: Page, name: string, what: string) => {
    const path = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path });
    shots.push({ path, what });
    console.log(`[e2e] dashboard screenshot ${path}: ${what}`);
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    // Three loads in new tabs (the first in a cold browser); the best is held to a second (a busy machine can starve
    // any one load), all three are printed.
    const renders: number[] = [];
    let page: Page | undefined;
    for (let i = 0; i < 3; i++) {
      await page?.close();
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${web.url}/#/namespaces/${o.namespace}`);
      await expect.poll(() => (page as Page).locator('[data-testid=workloads] tbody tr').count(), { timeout: 15_000 }).toBe(4);
      renders.push(await page.evaluate(() => performance.getEntriesByName('trellis:namespace-rendered')[0]?.startTime ?? Number.NaN));
    }
    const firstRenderMs = Math.min(...renders);
    console.log(`[e2e] dashboard: namespace page first render best ${firstRenderMs.toFixed(0)} ms of ${renders.map((r) => r.toFixed(0)).join(', ')} ms`);
    page = page as Page;
    const rows = page.locator('[data-testid=workloads] tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name')))).toEqual(['emoji', 'vote-bot', 'voting', 'web']);
    const voting = Number(await page.locator('[data-testid=workloads] tr[data-name="voting"] [data-success-rate]').getAttribute('data-success-rate'));
    expect(voting).toBeGreaterThan(0);
    expect(voting).toBeLessThan(1);
    expect(firstRenderMs).toBeLessThan(1000);
    await shoot(page, 'demo-namespace', 'emojivoto at 1280x800: four workloads, voting below 100 % in red');

    const edge = page.locator('[data-testid=edges] tr[data-edge="web>voting"]');
    await edge.waitFor({ timeout: 15_000 });
    expect(await edge.innerText()).toContain('\u2713 mTLS');
    expect((await page.locator('[data-testid=graph]').getAttribute('data-edges'))?.split(' ')).toContain(`${o.namespace}/deployment/web>${o.namespace}/deployment/voting`);
    await page.locator('h2', { hasText: 'Topology' }).scrollIntoViewIfNeeded();
    await shoot(page, 'demo-topology', 'the topology graph: vote-bot -> web -> emoji and voting over mTLS, web -> voting marked by its failures');

    await page.goto(`${web.url}/#/namespaces/${o.namespace}/deployment/voting`);
    // A Prometheus started a minute ago has its first points at the range query's next step.
    for (const chart of ['chart-success', 'chart-rps', 'chart-latency']) {
      await expect.poll(async () => Number(await page.locator(`[data-testid=${chart}]`).getAttribute('data-points')), { timeout: 90_000 }).toBeGreaterThan(0);
    }
    await page.locator('[data-testid=inbound] tr[data-name="web"]').waitFor({ timeout: 15_000 });
    await shoot(page, 'demo-workload', "voting's page: golden metrics, the last hour's charts from Prometheus, web as its caller, the identities");
    return { firstRenderMs, screenshots: shots };
  } finally {
    await browser?.close();
    if (web.child.exitCode === null) {
      web.child.kill('SIGTERM');
      await once(web.child, 'exit');
    }
  }
}

/**
 * The viz chart's dashboard pod, opened from this host at its pod address (its Server admits every network), on web's
 * workload page: Start tap streams web's requests through the aggregated tap API, which the dashboard calls with its
 * own service account, and the tap controller's proxies over mTLS with the tap identity. The lines and the top table
 * must show the demo's real requests (inbound /api/* with tls=true).
 */
export async function dashboardLiveTapCase(cluster: Cluster, namespace: string): Promise<{ lines: string; screenshot: string }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (tools/scripts/install-system.sh does), or set TRELLIS_CHROMIUM`);
  await mkdir(SCREENSHOTS, { recursive: true });
  const pod = await until(cluster, 'a Ready dashboard pod in trellis-viz', async () =>
    (await pods(cluster, 'trellis-viz', 'linkerd.io/extension=viz,component=web')).find((p) => p.status.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')), 2 * 60_000);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://${pod.status.podIP}:8084/#/namespaces/${namespace}/deployment/web`);
    await page.locator('[data-testid=tap-toggle]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=tap-toggle]').click();
    let lines = '';
    await expect.poll(async () => {
      lines = await page.locator('[data-testid=tap-lines]').innerText().catch(() => '');
      return /^req .*proxy=in .*tls=true .*:path=\/api\//m.test(lines) && /^end /m.test(lines);
    }, { timeout: 90_000, interval: 500 }).toBe(true);
    const paths = await page.locator('[data-testid=top] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-path')));
    expect(paths.some((p) => p?.startsWith('/api/'))).toBe(true);
    // Pod names and gRPC paths must not push the table's success rate off a 1280-wide screen.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    const path = join(SCREENSHOTS, 'demo-live-tap.png');
    await page.screenshot({ path });
    await page.locator('[data-testid=tap-toggle]').click();
    console.log(`[e2e] dashboard screenshot ${path}: web's workload page tapping web live through the tap API; top rows ${paths.join(', ')}`);
    return { lines, screenshot: path };
  } finally {
    await browser.close();
  }
}
