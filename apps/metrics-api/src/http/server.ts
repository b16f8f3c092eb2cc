// The HTTP/JSON face: GET /api/v1/stat, GET /api/v1/edges and GET /api/v1/routes (documented in the app's README). Query parameters
// are parsed here into typed requests; errors are written in one place (http/errors.ts).
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '@trellis/telemetry';
import { BadRequestError } from '../errors.ts';
import { edges, type EdgesContext } from '../stats/edges.ts';
import type { Target } from '../stats/queries.ts';
import { parseNamespace, parseResource, type ResourceType } from '../stats/resources.ts';
import { routeSummary, type RoutesContext } from '../stats/routes.ts';
import { statSummary, type StatContext } from '../stats/stat-summary.ts';
import { parseWindow } from '../stats/window.ts';
import { writeError } from './errors.ts';

export const DEFAULT_WINDOW = '1m';

type Query = Record<string, string | string[] | undefined>;

/** One value of a parameter; repeated parameters are refused rather than silently picking one. */
function param(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new BadRequestError(`parameter "${name}" given ${v.length} times`);
  return v === undefined || v === '' ? undefined : v;
}

function namespaceOf(q: Query, name: string): string | undefined {
  const ns = param(q, name);
  return ns === undefined ? undefined : parseNamespace(ns);
}

function filterOf(q: Query, name: 'to' | 'from', namespace: string | undefined): Target | undefined {
  const text = param(q, name);
  if (text === undefined) return undefined;
  const r = parseResource(name, text);
  if (r.type === 'all') throw new BadRequestError(`invalid ${name} "${text}": "all" is not a filter`);
  if (name === 'from' && (r.type === 'service' || r.type === 'authority')) throw new BadRequestError(`invalid from "${text}": a ${r.type} sends no traffic of its own`);
  return { type: r.type, name: r.name, namespace: namespaceOf(q, `${name}Namespace`) ?? namespace };
}

export function buildServer(ctx: StatContext & EdgesContext & RoutesContext, log: Logger): FastifyInstance {
  // Requests are few and each is logged on failure; fastify's per-request lines would be noise.
  const app = fastify({ logger: false, return503OnClosing: true });

  app.get('/api/v1/stat', async (req) => {
    const q = req.query as Query;
    const resource = param(q, 'resource');
    if (!resource) throw new BadRequestError('parameter "resource" is required (e.g. deploy, deploy/web, all)');
    const r = parseResource('resource', resource);
    const namespace = namespaceOf(q, 'namespace');
    const to = filterOf(q, 'to', namespace);
    const from = filterOf(q, 'from', namespace);
    if (to && from) throw new BadRequestError('"to" and "from" cannot be combined');
    if (from && (r.type === 'authority' || r.type === 'all')) throw new BadRequestError(`"from" is not supported for resource "${resource}"`);
    const window = parseWindow(param(q, 'window') ?? DEFAULT_WINDOW);
    const rows = await statSummary(ctx, { type: r.type, name: r.name, namespace, to, from, labelSelector: param(q, 'labelSelector'), window });
    return { window: window.text, rows };
  });

  app.get('/api/v1/edges', async (req) => {
    const q = req.query as Query;
    const resource = param(q, 'resource');
    if (!resource) throw new BadRequestError('parameter "resource" is required (e.g. deploy, po, ns)');
    const r = parseResource('resource', resource);
    const supported: readonly ResourceType[] = ['deployment', 'statefulset', 'daemonset', 'job', 'pod', 'namespace'];
    if (r.type === 'all' || !supported.includes(r.type)) throw new BadRequestError(`edges are between workloads: resource "${resource}" is not one of deploy, sts, ds, job, po, ns`);
    if (r.name) throw new BadRequestError(`edges take a type, not a named object ("${resource}")`);
    return { edges: await edges(ctx, r.type, namespaceOf(q, 'namespace')) };
  });

  app.get('/api/v1/routes', async (req) => {
    const q = req.query as Query;
    const resource = param(q, 'resource');
    if (!resource) throw new BadRequestError('parameter "resource" is required (e.g. deploy/web, svc/web-svc)');
    const r = parseResource('resource', resource);
    if (r.type === 'all' || !r.name) throw new BadRequestError(`routes are of one object: expected TYPE/NAME (e.g. deploy/web), got "${resource}"`);
    const namespace = namespaceOf(q, 'namespace');
    if (!namespace) throw new BadRequestError('parameter "namespace" is required');
    const to = filterOf(q, 'to', namespace);
    if (to && !to.name) throw new BadRequestError(`routes go to one object: expected TYPE/NAME for "to" (e.g. svc/web-svc)`);
    const window = parseWindow(param(q, 'window') ?? DEFAULT_WINDOW);
    const rows = await routeSummary(ctx, {
      type: r.type,
      name: r.name,
      namespace,
      to: to ? { type: to.type, name: to.name as string, namespace: to.namespace ?? namespace } : undefined,
      window,
    });
    return { window: window.text, rows };
  });

  app.setErrorHandler((err, req, reply) => writeError(err, req.url, reply, log));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'TRELLIS_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}: the API serves GET /api/v1/stat, GET /api/v1/edges and GET /api/v1/routes` } }),
  );
  return app;
}
