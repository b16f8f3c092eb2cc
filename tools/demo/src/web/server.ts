// The web front end: a small page and a JSON API over the emoji and voting services.
//   GET /api/list               the catalogue
//   GET|POST /api/vote?choice=S  one vote (500 with the service's error when voting fails)
//   GET /api/leaderboard        votes per emoji, most first
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { status, type Client, type ServiceError } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';
import { unary } from '../grpc.ts';
import type { Emoji, VotingResult } from '../proto.ts';
import { PAGE } from './page.ts';
import { contextOf, traceMetadata } from '../trace.ts';

export interface WebDeps {
  readonly emoji: Client;
  readonly voting: Client;
  readonly registry: Registry;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const isServiceError = (e: unknown): e is ServiceError => typeof e === 'object' && e !== null && 'code' in e && 'details' in e;

export function webServer(deps: WebDeps): Server {
  const requests = new Counter({ name: 'web_requests_total', help: 'web API requests', labelNames: ['path', 'code'], registers: [deps.registry] });
  const list = async () => (await unary<{ list: Emoji[] }>(deps.emoji, 'ListAll', {})).list;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = new URL(req.url ?? '/', 'http://web');
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
        return 200;
      case '/healthz':
        res.end('ok\n');
        return 200;
      case '/api/list':
        json(res, 200, await list());
        return 200;
      case '/api/leaderboard': {
        const [emojis, results] = await Promise.all([list(), unary<{ results: VotingResult[] }>(deps.voting, 'Results', {})]);
        const byCode = new Map(emojis.map((e) => [e.shortcode, e.unicode]));
        json(res, 200, results.results.map((r) => ({ shortcode: r.shortcode, unicode: byCode.get(r.shortcode) ?? '?', votes: r.votes })));
        return 200;
      }
      case '/api/vote': {
        const choice = url.searchParams.get('choice') ?? '';
        if (!choice) {
          json(res, 400, { error: 'missing ?choice=:shortcode:' });
          return 400;
        }
        // The vote's trace goes on through emoji and voting: the calls carry the request's context.
        const md = traceMetadata(contextOf(req.headers));
        try {
          await unary(deps.emoji, 'FindByShortcode', { shortcode: choice }, 5000, md);
        } catch (err) {
          if (isServiceError(err) && err.code === status.NOT_FOUND) {
            json(res, 404, { error: `no emoji ${choice}` });
            return 404;
          }
          throw err;
        }
        await unary(deps.voting, 'Vote', { shortcode: choice }, 5000, md);
        json(res, 200, { voted: choice });
        return 200;
      }
    }
    json(res, 404, { error: `no route ${url.pathname}` });
    return 404;
  }

  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://web').pathname;
    handle(req, res).then(
      (code) => requests.inc({ path, code }),
      (err: unknown) => {
        const message = isServiceError(err) ? `${status[err.code]}: ${err.details}` : (err as Error).message;
        json(res, 500, { error: message });
        requests.inc({ path, code: 500 });
      },
    );
  });
}
