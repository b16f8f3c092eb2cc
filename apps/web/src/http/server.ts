// The dashboard's HTTP face: the front end's files, and beside them a thin JSON API for it: /api/stat, /api/edges
// and /api/routes passed to the metrics API, /api/history from Prometheus' range queries, /api/config, and /api/tap
// (a live tap as server-sent events). Documented in the app's README.
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TrellisError } from '@trellis/config';
import type { Logger } from '@trellis/telemetry';
import type { DashboardConfig } from '../api-types.ts';
import { BadRequestError } from '../errors.ts';
import { history } from '../history/history.ts';
import { parseHistoryTarget, parseRange } from '../history/queries.ts';
import { TapEvents } from '@trellis/tap-view/events';
import type { TapRequest } from '@trellis/tap-view/stream';
import type { tap } from '@trellis/proto';
import type { MetricsApiClient } from '../upstream/metrics-api.ts';
import type { PrometheusRangeClient } from '../upstream/prometheus.ts';
import type { Asset } from './assets.ts';
import { writeError } from './errors.ts';

export interface ServerContext {
  readonly assets: ReadonlyMap<string, Asset>;
  readonly metricsApi: MetricsApiClient;
  readonly prometheus: PrometheusRangeClient;
  readonly grafanaUrl: string | undefined;
  readonly adminPort: number;
  /** Seconds since the epoch. */
  readonly now: () => number;
  /** A live tap through the tap API, until `signal` aborts. */
  readonly tap: (target: TapRequest, onEvent: (e: tap.TapEvent) => void, signal: AbortSignal) => Promise<void>;
}

/** Resource types a live tap is opened on, as the tap API's plural paths. */
const TAP_RESOURCES: Readonly<Record<string, string>> = { deploy: 'deployments', deployment: 'deployments', sts: 'statefulsets', statefulset: 'statefulsets', ds: 'daemonsets', daemonset: 'daemonsets', job: 'jobs', po: 'pods', pod: 'pods' };
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** What the page may ask of a tap: a browser tab should never ask a busy service for every request. */
const MAX_TAP_RPS = 100;
/** Events a slow page has not read yet, beyond which new ones are dropped rather than held. */
const MAX_TAP_BUFFER = 1 << 20;

function tapTarget(q: Query): TapRequest {
  const [type = '', name = '', extra] = (param(q, 'resource') ?? '').split('/');
  const resource = TAP_RESOURCES[type];
  if (!resource || !K8S_NAME.test(name) || extra !== undefined) throw new BadRequestError(`invalid resource ${JSON.stringify(param(q, 'resource') ?? '')}: expected TYPE/NAME with TYPE one of deploy, sts, ds, job, po`);
  const namespace = param(q, 'namespace') ?? '';
  if (!K8S_NAME.test(namespace)) throw new BadRequestError(`invalid namespace ${JSON.stringify(namespace)}`);
  const maxRps = Number(param(q, 'maxRps') ?? '10');
  if (!(maxRps > 0 && maxRps <= MAX_TAP_RPS)) throw new BadRequestError(`invalid maxRps ${JSON.stringify(param(q, 'maxRps'))}: from 0 to ${MAX_TAP_RPS}`);
  const method = param(q, 'method');
  if (method !== undefined && !/^[A-Z]+$/.test(method)) throw new BadRequestError(`invalid method ${JSON.stringify(method)}`);
  const path = param(q, 'path');
  if (path !== undefined && !path.startsWith('/')) throw new BadRequestError(`invalid path ${JSON.stringify(path)}: a path prefix starts with /`);
  return { namespace, resource, name, maxRps, method, path };
}

type Query = Record<string, string | string[] | undefined>;

/** The parameters each passed-through call may carry; anything else is refused rather than silently dropped. */
const PASSED: Readonly<Record<string, readonly string[]>> = {
  stat: ['resource', 'namespace', 'window', 'to', 'toNamespace', 'from', 'fromNamespace', 'labelSelector'],
  edges: ['resource', 'namespace'],
  routes: ['resource', 'namespace', 'window', 'to', 'toNamespace'],
};

function param(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new BadRequestError(`parameter "${name}" given ${v.length} times`);
  return v === undefined || v === '' ? undefined : v;
}

function passedParams(q: Query, allowed: readonly string[]): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of Object.keys(q)) {
    if (!allowed.includes(k)) throw new BadRequestError(`unknown parameter "${k}" (expected ${allowed.join(', ')})`);
    const v = param(q, k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

// The page's own script and style only; uPlot and Cytoscape set inline style attributes, hence 'unsafe-inline' for
// styles (never for scripts).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function sendAsset(req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('content-type', asset.type).header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
  if (asset.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(asset.gzipped);
  return reply.send(asset.body);
}

export function buildServer(ctx: ServerContext, log: Logger): FastifyInstance {
  // Requests are few and each failure is logged; fastify's per-request lines would be noise.
  const app = fastify({ logger: false, return503OnClosing: true });

  const config: DashboardConfig = { grafanaUrl: ctx.grafanaUrl ?? null };
  app.get('/api/config', async () => config);

  for (const [name, allowed] of Object.entries(PASSED)) {
    app.get(`/api/${name}`, async (req, reply) => {
      const answer = await ctx.metricsApi.get(`/api/v1/${name}`, passedParams(req.query as Query, allowed));
      return reply.code(answer.status).header('cache-control', 'no-store').send(answer.body);
    });
  }

  app.get('/api/history', async (req, reply) => {
    const q = req.query as Query;
    passedParams(q, ['resource', 'namespace', 'range']);
    const target = parseHistoryTarget(param(q, 'resource'), param(q, 'namespace'));
    const range = parseRange(param(q, 'range'));
    const answer = await history(ctx.prometheus, { target, ...range, adminPort: ctx.adminPort, now: ctx.now() });
    return reply.header('cache-control', 'no-store').send(answer);
  });

  // Live tap as server-sent events: each event a `data:` line (a TapLine), `event: failure` with the error when the
  // tap API refuses or fails, `event: end` when its stream ends. The tap closes when the page goes away.
  app.get('/api/tap', async (req, reply) => {
    const q = req.query as Query;
    passedParams(q, ['resource', 'namespace', 'maxRps', 'method', 'path']);
    const target = tapTarget(q);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-accel-buffering': 'no' });
    raw.write(': tap open\n\n');
    const ac = new AbortController();
    raw.on('close', () => ac.abort());
    const beat = setInterval(() => raw.write(': keepalive\n\n'), 15_000);
    const lines = new TapEvents();
    let dropped = 0;
    try {
      await ctx.tap(
        target,
        (e) => {
          const l = lines.line(e);
          if (!l) return;
          if (raw.writableLength > MAX_TAP_BUFFER) dropped++;
          else raw.write(`data: ${JSON.stringify(l)}\n\n`);
        },
        ac.signal,
      );
      if (!ac.signal.aborted) raw.write('event: end\ndata: {}\n\n');
    } catch (err) {
      const e = err instanceof TrellisError ? { code: err.code, message: err.message } : { code: 'TRELLIS_ERR_INTERNAL', message: (err as Error).message };
      if (!(err instanceof TrellisError)) log.error({ err: e.message, url: req.url }, 'tap failed');
      if (!ac.signal.aborted) raw.write(`event: failure\ndata: ${JSON.stringify({ error: e })}\n\n`);
    } finally {
      clearInterval(beat);
      if (dropped > 0) log.warn({ dropped, url: req.url }, 'tap events dropped: the page read them slower than they came');
      raw.end();
    }
  });

  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const asset = ctx.assets.get(path);
    if (!asset) return reply.code(404).send({ error: { code: 'TRELLIS_ERR_NOT_FOUND', message: `no such page or file: ${path}` } });
    return sendAsset(req, reply, asset);
  });

  app.setErrorHandler((err, req, reply) => writeError(err, req.url, reply, log));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'TRELLIS_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );
  return app;
}
