// The live tap twin on a real proxy: the workload's pod is a network namespace with proxy-init's rules, an app and
// Trellis' proxy (from its sources, as uid 2102, LINKERD2_PROXY_TAP_SVC_NAME set) carrying real requests sent by the
// test from the host. The dashboard's server opens the tap through the API server's aggregation layer to the tap
// API, which opens Observe on that proxy's tap server. In a cluster the tap API's own meshed proxy carries that call
// over mTLS as the tap identity; here there is no such sidecar, so a relay in the pod (kubectl port-forward's path)
// hands it to the tap server over loopback, which the tap server serves in plaintext. Needs root (namespaces,
// iptables) and the test's API server.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { webConfig, WEB_SPEC } from '../src/config.ts';
import { buildUi } from '../src/ui-build/build.ts';
import { startWeb, type RunningWeb } from '../src/web.ts';
import { launchChromium } from './browser.ts';
import { freePort } from './processes.ts';
import { registerTapApi, type TapAggregation } from './tap-aggregation.ts';

const kubeconfig = inject('kubeconfig');
const REPO = join(import.meta.dirname, '..', '..', '..');
const NODE = process.execPath;
const PROXY_UID = 2102;
const POD = `trellis-webtap-px-${process.pid}`;
const ns = `trellis-webtap-real-${process.pid}`;
const vizNs = `trellis-webtap-real-viz-${process.pid}`;
/** The pod's link to the host: host side, pod side (10.245/16, outside any pod network). */
const HOST_IP = '10.245.98.1';
const POD_IP = '10.245.98.2';
/** Not redirected by proxy-init (its inbound skip list): the relay to the tap server listens here. */
const RELAY_PORT = 4567;
const TAP_SVC_NAME = 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local';
const sh = promisify(execFile);

/** web's app: /api/list always 200, every third /api/vote a 500. */
const APP = `let n = 0; require('node:http').createServer((q, s) => { s.statusCode = q.url === '/api/vote' && n++ % 3 === 0 ? 500 : 200; s.end('web ' + q.url); }).listen(8080, () => console.log('ready'));`;
/** Port-forward's path: connections to the relay port reach the tap server on loopback. */
const RELAY = `const net = require('node:net'); net.createServer((c) => { const u = net.connect(4190, '127.0.0.1'); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); }).listen(${RELAY_PORT}, () => console.log('ready'));`;

const children: ChildProcess[] = [];
let aggregation: TapAggregation | undefined;
let web: RunningWeb | undefined;
let browser: Browser | undefined;

/** A long-running program in the pod, once it prints `marker`. */
async function inPod(argv: string[], env: Record<string, string>, marker: RegExp, uid?: number): Promise<ChildProcess> {
  const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  // Its own process group, stopped whole at the end.
  const child = spawn('ip', ['netns', 'exec', POD, ...asUser, ...argv], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  const output: string[] = [];
  const ready = new Promise<void>((resolve) => {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (b: Buffer) => {
        output.push(b.toString());
        if (marker.test(output.join(''))) resolve();
      });
    }
  });
  const failed = once(child, 'exit').then(([code]) => new Error(`${argv.join(' ')} exited ${String(code)} before it was ready: ${output.join('')}`));
  const first = await Promise.race([ready, failed]);
  if (first instanceof Error) throw first;
  return child;
}

beforeAll(async () => {
  await sh('ip', ['netns', 'add', POD]);
  await sh('ip', ['-n', POD, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['link', 'add', `trw${process.pid % 100000}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', POD]);
  await sh('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', `trw${process.pid % 100000}`]);
  await sh('ip', ['link', 'set', `trw${process.pid % 100000}`, 'up']);
  await sh('ip', ['-n', POD, 'addr', 'add', `${POD_IP}/30`, 'dev', 'eth0']);
  await sh('ip', ['-n', POD, 'link', 'set', 'eth0', 'up']);
  // proxy-init with the injector's default arguments: the tap and admin ports are not redirected.
  await sh(NODE, [join(REPO, 'apps/proxy-init/src/main.ts'), '--netns', `/run/netns/${POD}`, '--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', String(PROXY_UID), '--inbound-ports-to-ignore', `4190,4191,${RELAY_PORT}`, '--outbound-ports-to-ignore', String(RELAY_PORT)]);
  await inPod([NODE, '-e', APP], {}, /ready/);
  await inPod([NODE, join(REPO, 'apps/proxy/src/main.ts')], {
    TRELLIS_PROXY_PLAINTEXT: 'true',
    LINKERD2_PROXY_LOG: 'warn,linkerd=info',
    LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
    LINKERD2_PROXY_INBOUND_IPS: POD_IP,
    LINKERD2_PROXY_TAP_SVC_NAME: TAP_SVC_NAME,
  }, /proxy listening/, PROXY_UID);
  await inPod([NODE, '-e', RELAY], {}, /ready/);

  aggregation = await registerTapApi({ kubeconfig, ns, vizNs, tapPort: RELAY_PORT, podIp: POD_IP });
  const assets = await mkdtemp(join(tmpdir(), 'trellis-web-ui-'));
  await buildUi(assets);
  const closed = await freePort();
  const cli = parseCommandLine(WEB_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--metrics-api-url', `http://127.0.0.1:${closed}`, '--prometheus-url', `http://127.0.0.1:${closed}`, '--assets-dir', assets, '--kubeconfig', kubeconfig]);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  web = await startWeb(webConfig(cli), { log: createLogger({ name: 'web', level: 'fatal', format: 'json' }), registry: createRegistry() });
  browser = await launchChromium();
}, 10 * 60_000);

afterAll(async () => {
  // The pod's processes first: the tap API's Observe on the proxy ends with them.
  for (const c of children) {
    if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) continue;
    const exited = once(c, 'exit');
    process.kill(-c.pid, 'SIGKILL');
    await exited;
  }
  // Removing the namespace removes its veth end, and with it the host's.
  await sh('ip', ['netns', 'del', POD]).catch(() => undefined);
  await browser?.close();
  await web?.close();
  // The tap API takes about 90 s to exit on SIGTERM here (not with the FAKE proxy): room for it.
  await aggregation?.close();
}, 180_000);

/** One plain HTTP/1 request from the host to the pod's app port (redirected to the proxy's inbound). */
function send(path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: POD_IP, port: 8080, path, headers: { host: 'web-svc.emojivoto:80' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('live tap and top on the workload page, from a real proxy', () => {
  it("shows the tap lines and top rows of the requests the pod's proxy carried", async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => console.error(`[web] page error: ${err.message}`));
    await page.goto(`http://127.0.0.1:${(web as RunningWeb).web.port}/#/namespaces/${ns}/deployment/web`);
    await page.locator('[data-testid=tap-toggle]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=tap-toggle]').click();
    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) {
        statuses.push(await send('/api/list'), await send('/api/vote'));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const vote = page.locator('[data-testid=top] tr[data-path="/api/vote"]');
      await expect.poll(async () => Number((await vote.getAttribute('data-count').catch(() => null)) ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(6);
      const cells = await vote.locator('td').allInnerTexts();
      // The source is the host (no pod the tap API knows), the destination the tapped pod.
      expect(cells.slice(0, 4)).toEqual([HOST_IP, 'web-0', 'GET', '/api/vote']);
      expect(Number(await vote.locator('[data-success-rate]').getAttribute('data-success-rate'))).toBeLessThan(1);
      expect(Number(await page.locator('[data-testid=top] tr[data-path="/api/list"] [data-success-rate]').getAttribute('data-success-rate'))).toBe(1);
      const lines = await page.locator('[data-testid=tap-lines]').innerText();
      console.log(`[web] tap lines from the real proxy:\n${lines.split('\n').slice(0, 6).join('\n')}`);
      expect(lines).toMatch(new RegExp(`^req id=\\d+:\\d+ proxy=in {2}src=${HOST_IP.replaceAll('.', '\\.')}:\\d+ dst=${POD_IP.replaceAll('.', '\\.')}:8080 tls=\\S* :method=GET :authority=web-svc\\.emojivoto:80 :path=/api/(list|vote)$`, 'm'));
      expect(lines).toMatch(/^rsp id=\d+:\d+ proxy=in .* :status=500 latency=\d+µs$/m);
      expect(lines).toMatch(/^end id=\d+:\d+ proxy=in .* duration=\d+µs response-length=\d+B$/m);
    } finally {
      stop = true;
      await traffic;
    }
    expect(statuses).toContain(500);
    await page.locator('[data-testid=tap-toggle]').click();
    await page.close();
  }, 90_000);
});
