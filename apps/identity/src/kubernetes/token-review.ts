// TokenReview against the API server over one keep-alive HTTPS agent. @kubernetes/client-node builds a new
// dispatcher (so a new TLS connection) per request, which caps Certify at the API server's handshake rate;
// here the credentials come from the same KubeConfig (client certificate, bearer token or in-cluster token
// file, refreshed every minute) but connections are reused.
import { createHash } from 'node:crypto';
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { TokenReviewFailedError } from '../certify/errors.ts';
import type { TokenReview, TokenReviewer } from '../certify/token-reviewer.ts';

const PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export interface KubeTokenReviewerOptions {
  readonly timeoutMs?: number;
  /** How long credentials read from the kubeconfig (e.g. a rotating token file) are reused. */
  readonly credentialsTtlMs?: number;
  readonly maxSockets?: number;
}

interface Connection {
  readonly url: URL;
  readonly agent: Agent;
  readonly headers: Record<string, string>;
  readonly tlsKey: string;
  readonly expires: number;
}

interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly user?: { readonly username?: string };
  readonly error?: string;
}

export class KubeTokenReviewer implements TokenReviewer {
  readonly #kc: KubeConfig;
  readonly #o: Required<KubeTokenReviewerOptions>;
  #conn: Connection | undefined;
  #refreshing: Promise<Connection> | undefined;

  constructor(kc: KubeConfig, opts: KubeTokenReviewerOptions = {}) {
    this.#kc = kc;
    this.#o = { timeoutMs: opts.timeoutMs ?? 10_000, credentialsTtlMs: opts.credentialsTtlMs ?? 60_000, maxSockets: opts.maxSockets ?? 64 };
  }

  async review(token: string, audiences: readonly string[]): Promise<TokenReview> {
    const conn = await this.#connection();
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } });
    const { status, text } = await this.#post(conn, body);
    if (status !== 200 && status !== 201) {
      throw new TokenReviewFailedError(`TokenReview failed: HTTP ${status}${apiMessage(text)}`);
    }
    let s: TokenReviewStatus;
    try {
      s = ((JSON.parse(text) as { status?: TokenReviewStatus }).status ?? {}) as TokenReviewStatus;
    } catch {
      throw new TokenReviewFailedError('TokenReview failed: the API server answered with invalid JSON');
    }
    return {
      authenticated: s.authenticated === true,
      ...(s.user?.username !== undefined && { username: s.user.username }),
      ...(s.error ? { error: s.error } : {}),
    };
  }

  close(): void {
    this.#conn?.agent.destroy();
    this.#conn = undefined;
  }

  #post(conn: Connection, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const opts: RequestOptions = {
        method: 'POST',
        protocol: 'https:',
        hostname: conn.url.hostname.replace(/^\[|\]$/g, ''),
        port: conn.url.port || 443,
        path: conn.url.pathname.replace(/\/$/, '') + PATH,
        agent: conn.agent,
        headers: { ...conn.headers, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.#o.timeoutMs,
      };
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(new TokenReviewFailedError(`TokenReview failed: ${e.message}`, e)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#o.timeoutMs} ms`)));
      req.on('error', (e) => reject(new TokenReviewFailedError(`TokenReview failed: ${e.message}`, e)));
      req.end(body);
    });
  }

  #connection(): Promise<Connection> {
    const c = this.#conn;
    if (c && Date.now() < c.expires) return Promise.resolve(c);
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<Connection> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new TokenReviewFailedError('TokenReview failed: the kubeconfig has no current cluster');
    const o: RequestOptions & { headers?: Record<string, string> } = {};
    try {
      await this.#kc.applyToHTTPSOptions(o);
    } catch (err) {
      throw new TokenReviewFailedError(`TokenReview failed: cannot load API credentials: ${(err as Error).message}`, err);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (o.auth) headers['authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    const tls: AgentOptions = {
      ...(o.ca !== undefined && { ca: o.ca }),
      ...(o.cert !== undefined && { cert: o.cert }),
      ...(o.key !== undefined && { key: o.key }),
      ...(o.rejectUnauthorized !== undefined && { rejectUnauthorized: o.rejectUnauthorized }),
      ...(o.servername !== undefined && { servername: o.servername }),
    };
    const tlsKey = createHash('sha256').update(JSON.stringify([tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername].map(String))).digest('hex');
    const prev = this.#conn;
    const agent = prev && prev.tlsKey === tlsKey ? prev.agent : new Agent({ ...tls, keepAlive: true, maxSockets: this.#o.maxSockets, maxFreeSockets: this.#o.maxSockets });
    if (prev && prev.agent !== agent) prev.agent.destroy();
    this.#conn = { url: new URL(cluster.server), agent, headers, tlsKey, expires: Date.now() + this.#o.credentialsTtlMs };
    return this.#conn;
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
