// Every error the dashboard's API answers with, mapped to its status in one place: `{"error":{"code","message"}}`,
// the metrics API's shape, so the front end reads one kind of error whichever side failed.
import type { FastifyReply } from 'fastify';
import { TrellisError } from '@trellis/config';
import type { Logger } from '@trellis/telemetry';

const STATUS: Readonly<Record<string, number>> = {
  TRELLIS_ERR_BAD_REQUEST: 400,
  TRELLIS_ERR_UPSTREAM_ANSWER: 502,
  TRELLIS_ERR_UPSTREAM_UNREACHABLE: 503,
};

export function writeError(err: unknown, url: string, reply: FastifyReply, log: Logger): FastifyReply {
  if (err instanceof TrellisError) {
    const status = STATUS[err.code] ?? 500;
    if (status >= 500) log.warn({ code: err.code, url }, err.message);
    return reply.code(status).send({ error: { code: err.code, message: err.message } });
  }
  // fastify's own (a malformed query string, a method it refuses) carry a 4xx statusCode.
  const e = err as { statusCode?: number; message?: string };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.code(e.statusCode).send({ error: { code: 'TRELLIS_ERR_BAD_REQUEST', message: e.message ?? 'bad request' } });
  }
  log.error({ err: e.message, url }, 'request failed');
  return reply.code(500).send({ error: { code: 'TRELLIS_ERR_INTERNAL', message: e.message ?? 'internal error' } });
}
