// TokenReview against the API server over one multiplexed HTTP/2 connection, as client-go talks to it.
// @kubernetes/client-node builds a new dispatcher (a new TLS connection) per request, which caps Certify at the
// API server's handshake rate; measured here, HTTP/2 also halves identity's CPU per review against keep-alive
// HTTP/1.1 and trims the API server's. Credentials come from the same KubeConfig (client certificate, bearer
// token, or the in-cluster token file, re-read every minute).
import { createHash } from 'node:crypto';
import { connect, constants, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { TokenReviewFailedError } from '../certify/errors.ts';
import type { TokenReview, TokenReviewer } from '../certify/token-reviewer.ts';

const PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export interface KubeTokenReviewerOptions {
  readonly timeoutMs?: number;
  /** How long credentials read from the kubeconfig (e.g. a rotating token file) are reused. */
  readonly credentialsTtlMs?: number;
}

interface Credentials {
  readonly origin: string;
  readonly basePath: string;
  readonly tls: SecureClientSessionOptions;
  readonly headers: Record<string, string>;
  /** Identifies the TLS material: a change needs a new connection, a new bearer token does not. */
  readonly tlsKey: string;
  readonly expires: number;
}

interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly user?: { readonly username?: string };
  readonly error?: string;
}

const failed = (why: string, cause?: unknown) => new TokenReviewFailedError(`TokenReview failed: ${why}`, cause);

export class KubeTokenReviewer implements TokenReviewer {
  readonly #kc: KubeConfig;
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  #creds: Credentials | undefined;
  #refreshing: Promise<Credentials> | undefined;
  #session: ClientHttp2Session | undefined;
  #sessionKey = '';

  constructor(kc: KubeConfig, opts: KubeTokenReviewerOptions = {}) {
    this.#kc = kc;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#ttlMs = opts.credentialsTtlMs ?? 60_000;
  }

  async review(token: string, audiences: readonly string[]): Promise<TokenReview> {
    const creds = await this.#credentials();
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } });
    let { status, text } = await this.#post(creds, body);
    // No answer at all: the connection died under the request (API server restart, GOAWAY). A review has no
    // side effects, so one more try on a fresh connection is safe.
    if (status === 0) ({ status, text } = await this.#post(creds, body));
    if (status === 0) throw failed(text);
    if (status !== 200 && status !== 201) throw failed(`HTTP ${status}${apiMessage(text)}`);
    let s: TokenReviewStatus;
    try {
      s = ((JSON.parse(text) as { status?: TokenReviewStatus }).status ?? {}) as TokenReviewStatus;
    } catch {
      throw failed('the API server answered with invalid JSON');
    }
    return {
      authenticated: s.authenticated === true,
      ...(s.user?.username !== undefined && { username: s.user.username }),
      ...(s.error ? { error: s.error } : {}),
    };
  }

  close(): void {
    this.#session?.destroy();
    this.#session = undefined;
  }

  #connection(creds: Credentials): ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed && this.#sessionKey === creds.tlsKey) return s;
    s?.close();
    const session = connect(creds.origin, creds.tls);
    // A broken or draining connection is dropped; the next review dials a new one.
    const forget = () => {
      if (this.#session === session) this.#session = undefined;
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.#session = session;
    this.#sessionKey = creds.tlsKey;
    return session;
  }

  /** Resolves with the HTTP status and body, or status 0 and the reason when no answer came; rejects on timeout. */
  #post(creds: Credentials, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.#connection(creds);
      } catch (err) {
        resolve({ status: 0, text: (err as Error).message });
        return;
      }
      const req = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: creds.basePath + PATH,
        'content-type': 'application/json',
        accept: 'application/json',
        ...creds.headers,
      });
      let status = 0;
      let timedOut = false;
      const chunks: Buffer[] = [];
      req.setTimeout(this.#timeoutMs, () => {
        timedOut = true;
        req.close(constants.NGHTTP2_CANCEL);
      });
      req.on('response', (h) => (status = Number(h[constants.HTTP2_HEADER_STATUS])));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (status !== 0 && !timedOut) resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
      });
      // Settles whatever 'end' and 'error' did not (a promise settles once).
      req.on('close', () => {
        if (timedOut) reject(failed(`no answer within ${this.#timeoutMs} ms`));
        else resolve({ status: 0, text: `the stream was closed (code ${req.rstCode})` });
      });
      req.on('error', (e) => (timedOut ? reject(failed(`no answer within ${this.#timeoutMs} ms`)) : resolve({ status: 0, text: e.message })));
      req.end(body);
    });
  }

  #credentials(): Promise<Credentials> {
    const c = this.#creds;
    if (c && Date.now() < c.expires) return Promise.resolve(c);
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<Credentials> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw failed('the kubeconfig has no current cluster');
    const o: RequestOptions & { headers?: Record<string, string> } = {};
    try {
      await this.#kc.applyToHTTPSOptions(o);
    } catch (err) {
      throw failed(`cannot load API credentials: ${(err as Error).message}`, err);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (o.auth) headers['authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    const tls: SecureClientSessionOptions = {
      ...(o.ca !== undefined && { ca: o.ca }),
      ...(o.cert !== undefined && { cert: o.cert }),
      ...(o.key !== undefined && { key: o.key }),
      ...(o.rejectUnauthorized !== undefined && { rejectUnauthorized: o.rejectUnauthorized }),
      ...(o.servername !== undefined && { servername: o.servername }),
    };
    const url = new URL(cluster.server);
    const tlsKey = createHash('sha256')
      .update(JSON.stringify([url.origin, tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername].map(String)))
      .digest('hex');
    this.#creds = { origin: url.origin, basePath: url.pathname.replace(/\/$/, ''), tls, headers, tlsKey, expires: Date.now() + this.#ttlMs };
    return this.#creds;
  }
}

/** The `message` of a Kubernetes Status body, if there is one. */
function apiMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === 'string' ? `: ${m.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}
