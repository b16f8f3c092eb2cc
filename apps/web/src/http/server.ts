// The dashboard's HTTP face: the front end's files, and beside them a thin JSON API for it: /api/stat, /api/edges
// and /api/routes passed to the metrics API, /api/history from Prometheus' range queries, /api/config. Documented in the
// app's README.
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '@trellis/telemetry';
import type { DashboardConfig } from '../api-types.ts';
import { BadRequestError } from '../errors.ts';
import { history } from '../history/history.ts';
import { parseHistoryTarget, parseRange } from '../history/queries.ts';
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
