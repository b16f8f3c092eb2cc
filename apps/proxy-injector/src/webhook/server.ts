// The HTTPS face of the webhook: fastify on TLS 1.3, POST / with a 10 MB body limit. The body is taken raw and
// decoded here so that every decoding failure maps to one answer (HTTP 400 with a message naming the problem).
import fastify, { type FastifyInstance } from 'fastify';
import { oneReviewPerConnection } from '@trellis/k8s';
import type { Logger } from '@trellis/telemetry';
import type { AdmissionHandler } from './admission.ts';
import { BadReviewError } from './errors.ts';

export const BODY_LIMIT = 10 * 1024 * 1024;

export interface WebhookServerOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly handler: AdmissionHandler;
  readonly log: Logger;
}

export function buildWebhookServer(opts: WebhookServerOptions): FastifyInstance {
  const app = fastify({
    https: { cert: opts.cert, key: opts.key, minVersion: 'TLSv1.3' },
    bodyLimit: BODY_LIMIT,
    // Requests are logged by the handler with what matters (uid, workload); fastify's per-request lines are noise.
    logger: false,
    return503OnClosing: true,
  });
  oneReviewPerConnection(app.server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/', async (req, reply) => {
    const raw = req.body;
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
    } catch (err) {
      return reply.code(400).type('text/plain; charset=utf-8').send(`TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON: ${(err as Error).message}\n`);
    }
    try {
      return await opts.handler.review(decoded);
    } catch (err) {
      if (err instanceof BadReviewError) return reply.code(400).type('text/plain; charset=utf-8').send(`${err.code}: ${err.message}\n`);
      throw err;
    }
  });

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) opts.log.error({ err: err.message }, 'webhook request failed');
    // 413 for a body over the limit, 400 for a malformed request: fastify's codes, our text.
    return reply.code(status).type('text/plain; charset=utf-8').send(`${err.code ?? 'TRELLIS_ERR_INTERNAL'}: ${err.message}\n`);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).type('text/plain; charset=utf-8').send(`no route ${req.method} ${req.url}: the webhook serves POST /\n`));
  return app;
}
