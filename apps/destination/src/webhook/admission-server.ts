// The HTTPS face shared by destination's validating webhooks (sp-validator, policy-validator): fastify over TLS,
// POST / with a 4 MiB body. The body is taken raw and decoded here, so every malformed request gets one kind of
// answer (HTTP 400, a message naming the problem) and nothing a client sends can take the process down.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { oneReviewPerConnection } from '@trellis/k8s';
import type { Logger } from '@trellis/telemetry';
import { BadAdmissionReviewError } from '../errors.ts';
import { answer, decodeReview, type Validator } from './admission-review.ts';

export interface AdmissionServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface AdmissionServerOptions {
  /** Names the webhook in logs ("sp-validator", "policy-validator"). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly logger: Logger;
  readonly validate: Validator;
}

const text = 'text/plain; charset=utf-8';

export async function startAdmissionServer(opts: AdmissionServerOptions): Promise<AdmissionServer> {
  const log = opts.logger.child({ component: opts.name });
  const app = Fastify({
    https: { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) },
    // Per-request lines are noise for a webhook; denials are logged below with their reason.
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
    return503OnClosing: true,
  });
  oneReviewPerConnection(app.server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/', async (request, reply) => {
    const raw = request.body;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
    } catch (err) {
      return reply.code(400).type(text).send(`TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON: ${(err as Error).message}\n`);
    }
    let review;
    try {
      review = decodeReview(body);
    } catch (err) {
      if (err instanceof BadAdmissionReviewError) return reply.code(400).type(text).send(`${err.code}: ${err.message}\n`);
      throw err;
    }
    const { apiVersion, request: req } = review;
    let problem: string | undefined;
    try {
      problem = await opts.validate(req);
    } catch (err) {
      // A validator that fails on some input refuses that object and says so; the next request is served as usual.
      log.error({ uid: req.uid, kind: req.kind?.kind, err: (err as Error).message }, 'validation failed');
      problem = `TRELLIS_ERR_INTERNAL: the ${opts.name} could not check this object: ${(err as Error).message}`;
    }
    if (problem !== undefined) log.info({ uid: req.uid, kind: req.kind?.kind, namespace: req.namespace, name: req.name, reason: problem }, 'denied');
    return answer(apiVersion, req.uid, problem);
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err: err.message }, 'webhook request failed');
    // 413 for a body over the limit, 400 for a malformed request: fastify's codes, our text.
    return reply.code(status).type(text).send(`${err.code ?? 'TRELLIS_ERR_INTERNAL'}: ${err.message}\n`);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).type(text).send(`no route ${req.method} ${req.url}: the ${opts.name} serves POST /\n`));
  await app.listen({ host: opts.host, port: opts.port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
