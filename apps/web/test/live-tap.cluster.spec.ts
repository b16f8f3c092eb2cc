// Live tap and top on a workload's page in real Chromium: the dashboard's server opens the tap through the real
// API server's aggregation layer (an APIService for tap.linkerd.io/v1alpha1, as apps/tap's tests register it) to the
// real tap API (from its sources), which resolves the deployment to its meshed pod and observes that pod's proxy:
// the one fake here (fake-tap-proxy.ts says why; live-tap-real-proxy.root.cluster.spec.ts is the twin on a real
// proxy). A second dashboard, whose credentials have no RBAC for tap, shows the 403 and its reason. The live
// section's screenshot is saved under .test-results/screenshots.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { webConfig, WEB_SPEC } from '../src/config.ts';
import { buildUi } from '../src/ui-build/build.ts';
import { startWeb, type RunningWeb } from '../src/web.ts';
import { launchChromium, SCREENSHOTS } from './browser.ts';
import { startFakeTapProxy, type FakeTapProxy } from './fake-tap-proxy.ts';
import { freePort } from './processes.ts';
import { kubectlWith, registerTapApi, type TapAggregation } from './tap-aggregation.ts';

const kubeconfig = inject('kubeconfig');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-webtap-${suffix}`;
const vizNs = `trellis-webtap-viz-${suffix}`;
const kubectl = kubectlWith(kubeconfig);

let proxy: FakeTapProxy;
let aggregation: TapAggregation | undefined;
let web: RunningWeb | undefined;
let forbidden: RunningWeb | undefined;
let browser: Browser | undefined;

async function dashboard(kc: string, assets: string, metricsApiPort: number): Promise<RunningWeb> {
  // No metrics API here (its port is closed): the live section needs none.
  const cli = parseCommandLine(WEB_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--metrics-api-url', `http://127.0.0.1:${metricsApiPort}`, '--prometheus-url', `http://127.0.0.1:${metricsApiPort}`, '--assets-dir', assets, '--kubeconfig', kc]);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  return startWeb(webConfig(cli), { log: createLogger({ name: 'web', level: 'fatal', format: 'json' }), registry: createRegistry() });
}

/** A kubeconfig for service account `nobody` (no RBAC at all) on the same API server. */
async function nobodyKubeconfig(dir: string): Promise<string> {
  await kubectl(['-n', ns, 'create', 'serviceaccount', 'nobody']);
  const token = (await kubectl(['-n', ns, 'create', 'token', 'nobody'])).trim();
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in the test kubeconfig');
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [cluster], users: [{ name: 'nobody', token }], contexts: [{ name: 'nobody', cluster: cluster.name, user: 'nobody' }], currentContext: 'nobody' });
  const path = join(dir, 'nobody.kubeconfig');
  await writeFile(path, kc.exportConfig());
  return path;
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-web-tap-'));
  proxy = await startFakeTapProxy();
  // The pod runs "at" loopback, where the FAKE proxy's tap server listens.
  aggregation = await registerTapApi({ kubeconfig, ns, vizNs, tapPort: proxy.port, podIp: '127.0.0.1' });

  const assets = await mkdtemp(join(tmpdir(), 'trellis-web-ui-'));
  await buildUi(assets);
  const closed = await freePort();
  web = await dashboard(kubeconfig, assets, closed);
  forbidden = await dashboard(await nobodyKubeconfig(dir), assets, closed);
  browser = await launchChromium();
}, 10 * 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await forbidden?.close();
  await aggregation?.close();
  proxy?.close();
});

async function workloadPage(w: RunningWeb): Promise<Page> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => console.error(`[web] page error: ${err.message}`));
  await page.goto(`http://127.0.0.1:${w.web.port}/#/namespaces/${ns}/deployment/web`);
  await page.locator('[data-testid=tap-toggle]').waitFor({ timeout: 10_000 });
  return page;
}

describe('live tap and top on the workload page', () => {
  it("streams the workload's requests into a top table (voting's failures below 100 %) and Linkerd's tap lines, until stopped", async () => {
    const page = await workloadPage(web as RunningWeb);
    await page.locator('[data-testid=tap-toggle]').click();
    const vote = page.locator('[data-testid=top] tr[data-path="/api/vote"]');
    await expect.poll(async () => Number((await vote.getAttribute('data-count').catch(() => null)) ?? 0), { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
    const cells = await vote.locator('td').allInnerTexts();
    // The tap API names the tapped side by its pod; the caller (not a pod it knows) by its address.
    expect(cells.slice(0, 4)).toEqual(['10.244.0.10', 'web-0', 'GET', '/api/vote']);
    expect(Number(await vote.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeLessThan(1);
    expect(Number(await page.locator('[data-testid=top] tr[data-path="/api/list"] [data-success-rate]').getAttribute('data-success-rate'))).toBe(1);
    // Most requested first; the tap lines as `viz tap` prints them.
    const lines = await page.locator('[data-testid=tap-lines]').innerText();
    expect(lines).toMatch(/^end id=0:\d+ proxy=in {2}src=10\.244\.0\.10:42658 dst=10\.244\.0\.12:8080 tls=true duration=\d+µs response-length=120B$/m);
    expect(lines).toMatch(/^req id=0:\d+ proxy=in {2}src=10\.244\.0\.10:42658 dst=10\.244\.0\.12:8080 tls=true :method=GET :authority=web-svc\.emojivoto:80 :path=\/api\/vote$/m);
    expect(lines).toMatch(/^rsp id=0:\d+ proxy=in {2}.* :status=500 latency=\d+µs$/m);
    expect(proxy.open()).toBe(1);
    const live = page.locator('[data-testid=live]');
    await live.scrollIntoViewIfNeeded();
    const path = join(SCREENSHOTS, 'workload-live.png');
    await live.screenshot({ path });
    console.log(`[web] screenshot ${path}: web's live requests: the top table (GET /api/vote below 100 %, /api/list at 100 %, counts, best/worst/last latency) and the newest tap lines`);
    // Stopping closes the tap all the way down to the proxy's Observe stream.
    await page.locator('[data-testid=tap-toggle]').click();
    await expect.poll(() => proxy.open(), { timeout: 10_000 }).toBe(0);
    expect(await live.getAttribute('data-state')).toBe('ended');
    await page.close();
  }, 60_000);

  it('closes the tap when the page goes away', async () => {
    const page = await workloadPage(web as RunningWeb);
    await page.locator('[data-testid=tap-toggle]').click();
    await expect.poll(() => proxy.open(), { timeout: 10_000 }).toBe(1);
    await page.close();
    await expect.poll(() => proxy.open(), { timeout: 10_000 }).toBe(0);
  }, 30_000);

  it("shows the tap API's 403 and its reason when the dashboard's credentials may not tap", async () => {
    const page = await workloadPage(forbidden as RunningWeb);
    await page.locator('[data-testid=tap-toggle]').click();
    const banner = page.locator('[data-testid=live] .error');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.innerText()).toMatch(new RegExp(`^TRELLIS_ERR_TAP_FORBIDDEN .*system:serviceaccount:${ns}:nobody.*tap`));
    expect(await page.locator('[data-testid=live]').getAttribute('data-state')).toBe('ended');
    await page.close();
  }, 30_000);
});
