// The tap injector's HTTPS face (fastify, its own certificate, beside the tap API on its own port): POST / with an
// AdmissionReview. The body is read raw and decoded here, so every malformed request gets one kind of answer: HTTP
// 400 with a message naming the problem.
import fastify, { type FastifyInstance } from 'fastify';
import { oneReviewPerConnection } from '@trellis/k8s';
import type { Logger } from '@trellis/telemetry';
import { answerReview, BadReviewError, type ReviewDeps } from './review.ts';

const BODY_LIMIT = 10 * 1024 * 1024;

export function buildInjectorServer(opts: { readonly tls: { readonly cert: string; readonly key: string }; readonly deps: ReviewDeps; readonly log: Logger }): FastifyInstance {
  const app = fastify({ https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, bodyLimit: BODY_LIMIT, logger: false, return503OnClosing: true });
  oneReviewPerConnection(app.server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const bad = (message: string) => `TRELLIS_ERR_BAD_ADMISSION_REVIEW: ${message}\n`;

  app.post('/', async (req, reply) => {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
    } catch (err) {
      return reply.code(400).type('text/plain; charset=utf-8').send(bad(`body is not JSON: ${(err as Error).message}`));
    }
    try {
      return await answerReview(decoded, opts.deps);
    } catch (err) {
      if (err instanceof BadReviewError) return reply.code(400).type('text/plain; charset=utf-8').send(bad(err.message));
      throw err;
    }
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) opts.log.error({ err: err.message }, 'tap injector request failed');
    return reply.code(status).type('text/plain; charset=utf-8').send(`${err.code ?? 'TRELLIS_ERR_INTERNAL'}: ${err.message}\n`);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).type('text/plain; charset=utf-8').send(`no route ${req.method} ${req.url}: the tap injector serves POST /\n`));
  return app;
}
