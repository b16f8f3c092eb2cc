// The tap API's HTTPS face (fastify), as an aggregated API server: discovery of tap.linkerd.io/v1alpha1, and the
// watch endpoints `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/{ns}[/{resource}/{name}]/tap` (GET, or POST
// as Linkerd's CLI sends). Each watch is authenticated (front proxy), authorized (SubjectAccessReview on the tap
// subresource), resolved to meshed pods and streamed as newline-delimited JSON TapEvents (protobuf JSON mapping).
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@trellis/telemetry';
import { tap } from '@trellis/proto';
import { authenticate, type RequestHeaderConfig } from './authn.ts';
import { TAP_GROUP, TAP_VERSION, type Authorizer } from './authz.ts';
import { statusBody, TapApiError, warningLine } from './errors.ts';
import { buildMatch, type TapQuery } from './match.ts';
import { observePods } from './observe.ts';
import type { PodResolver } from './pods.ts';
import { pluralOf, RESOURCES, type TapTarget } from './resources.ts';

export interface TapApiDeps {
  readonly requestHeader: RequestHeaderConfig;
  readonly authorize: Authorizer;
  readonly pods: PodResolver;
  readonly peerByIp: (ip: string) => Promise<Readonly<Record<string, string>> | undefined>;
  readonly tapPort: number;
  readonly tls: { readonly cert: string; readonly key: string };
  /** Counts taps by outcome (ok, forbidden, not_found, ...). */
  readonly count: (outcome: string) => void;
  /** How long to wait for a first proxy's answer before starting the response (tests shorten it). */
  readonly headersWaitMs?: number;
}

const PREFIX = `/apis/${TAP_GROUP}/${TAP_VERSION}`;
const DEFAULT_MAX_RPS = 100;
/** How long a tap waits for a first proxy to answer before it starts the response anyway. */
const HEADERS_WAIT_MS = 5_000;

function describeTarget(t: TapTarget): string {
  return t.resource === 'namespaces' ? `namespace ${t.namespace}` : `${t.resource}/${t.name} in namespace ${t.namespace}`;
}

function resourceList() {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${TAP_GROUP}/${TAP_VERSION}`,
    resources: Object.keys(RESOURCES).flatMap((r) => [
      { name: r, singularName: '', namespaced: r !== 'namespaces', kind: 'Tap', verbs: ['watch'] },
      { name: `${r}/tap`, singularName: '', namespaced: r !== 'namespaces', kind: 'Tap', verbs: ['watch'] },
    ]),
  };
}

function groupList() {
  const version = { groupVersion: `${TAP_GROUP}/${TAP_VERSION}`, version: TAP_VERSION };
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: TAP_GROUP, versions: [version], preferredVersion: version }] };
}

type Query = Record<string, string | undefined>;

function number(q: Query, name: string, fallback: number): number {
  const v = q[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TapApiError(400, 'BadRequest', `invalid ${name} "${v}": expected a non-negative number`);
  return n;
}

export function buildServer(deps: TapApiDeps, log: Logger): FastifyInstance {
  const app = fastify({
    logger: false,
    return503OnClosing: true,
    https: { cert: deps.tls.cert, key: deps.tls.key, ca: deps.requestHeader.clientCa, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
  });
  const fail = (reply: FastifyReply, err: unknown) => {
    const e = err instanceof TapApiError ? err : new TapApiError(500, 'InternalError', (err as Error).message);
    if (e.status >= 500) log.warn({ err: e.message }, 'tap request failed');
    deps.count(e.reason);
    void reply.code(e.status).header('content-type', 'application/json').send(statusBody(e));
  };

  app.get('/healthz', async () => 'ok');
  app.get('/readyz', async () => 'ok');
  app.get('/livez', async () => 'ok');
  app.get('/apis', async () => groupList());
  app.get(PREFIX, async () => resourceList());

  const watch = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = req.params as { ns: string; resource?: string; name?: string };
    const q = { ...(req.query as Query), ...((req.body as Query | undefined) ?? {}) };
    let target: TapTarget;
    let cancel: (() => void) | undefined;
    try {
      // headersDistinct: repeated X-Remote-Group lines stay separate (Node joins them with ", " in `headers`).
      const user = authenticate(req.raw.socket as TLSSocket, req.raw.headersDistinct, deps.requestHeader);
      target = params.resource ? { namespace: params.ns, resource: pluralOf(params.resource), name: params.name ?? '' } : { namespace: params.ns, resource: 'namespaces', name: '' };
      const query: TapQuery = { to: q['toResource'] ?? q['to'], toNamespace: q['toNamespace'], method: q['method'], path: q['path'], authority: q['authority'], scheme: q['scheme'] };
      const match = buildMatch(query, target.namespace);
      const maxRps = number(q, 'maxRps', DEFAULT_MAX_RPS) || DEFAULT_MAX_RPS;
      const limit = Math.floor(number(q, 'limit', 0));
      await deps.authorize(user, target);
      const pods = await deps.pods(target);
      log.info({ user: user.user, target, pods: pods.length, maxRps }, 'tap started');
      deps.count('ok');
      reply.hijack();
      const res = reply.raw;
      // The response starts once a proxy has answered (or after HEADERS_WAIT_MS): until then, the request can still
      // fail as a whole, with a Status the CLI shows, when no proxy can be tapped.
      let started = false;
      // Warnings of pods that failed before the response started: sent with its start, or dropped when every pod
      // fails and the request fails as a whole.
      const pending: string[] = [];
      const start = () => {
        if (started) return;
        started = true;
        clearTimeout(wait);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.flushHeaders();
        for (const line of pending.splice(0)) res.write(line);
      };
      const wait = setTimeout(() => res.destroyed || start(), deps.headersWaitMs ?? HEADERS_WAIT_MS);
      const failures: string[] = [];
      const what = describeTarget(target);
      cancel = observePods({
        pods,
        tapPort: deps.tapPort,
        match,
        extractHeaders: q['extract'] === 'true',
        maxRps,
        limit,
        peerByIp: deps.peerByIp,
        onOpen: start,
        onEvent: (e) => {
          start();
          res.write(JSON.stringify(tap.TapEvent.toJSON(e)) + '\n');
        },
        onPodError: (pod, err) => {
          // grpc-js ends connection errors with an empty "Resolution note:".
          const reason = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
          failures.push(`${pod.name}: ${reason}`);
          log.warn({ pod: `${pod.namespace}/${pod.name}`, code: err.code, err: err.details }, 'tap of a pod failed');
          // The last of them all: the closing Status names every pod. Otherwise the user learns which pod's requests
          // are missing while the others' stream on.
          if (failures.length === pods.length || res.destroyed) return;
          const line = warningLine(pod.namespace, pod.name, `its proxy failed on the tap port ${deps.tapPort}: ${reason}`);
          if (started) res.write(line);
          else pending.push(line);
        },
        onEnd: () => {
          clearTimeout(wait);
          if (res.destroyed) return;
          if (failures.length < pods.length) {
            start();
            res.end();
            return;
          }
          const e = new TapApiError(503, 'ServiceUnavailable', `cannot tap ${what}: the proxy of ${pods.length === 1 ? 'its pod' : `each of its ${pods.length} pods`} failed on the tap port ${deps.tapPort} (${failures.join('; ')})`);
          if (!started) {
            started = true;
            res.writeHead(e.status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(statusBody(e)));
          } else {
            // Events were already under way: the last line is the Status (no TapEvent has a kind) the CLI reports.
            res.end(JSON.stringify(statusBody(e)) + '\n');
          }
        },
      });
      req.raw.socket.once('close', () => cancel?.());
    } catch (err) {
      fail(reply, err);
    }
  };
  for (const path of [`${PREFIX}/watch/namespaces/:ns/tap`, `${PREFIX}/watch/namespaces/:ns/:resource/:name/tap`]) {
    app.get(path, watch);
    app.post(path, watch);
  }
  return app;
}
