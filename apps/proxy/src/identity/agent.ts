// The identity agent (docs/reference/linkerd-proxy.md §3, docs/reference/linkerd-contracts.md §2.1): one ECDSA P-256 key for the life of the process,
// a CSR for our local name, then Certify → verify → publish, again and again at 70 % of the remaining
// lifetime. The first certificate resolves `ready`; every certificate is announced with 'credentials', so
// TLS contexts can be rebuilt (new connections use the new certificate, existing ones keep theirs).
import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCsr, generateKeyPair, privateKeyToPkcs8, type KeyPair } from '@trellis/pki/workload';
import type { identity } from '@trellis/proto';
import type { Logger } from 'pino';
import type { IdentityConfig } from './config.ts';
import { verifyCertified, type Credentials } from './credentials.ts';
import { IdentityError } from './errors.ts';
import type { IdentityMetrics } from './metrics.ts';
import { refreshDelayMs } from './refresh.ts';

export type CertifyFn = (req: identity.CertifyRequest) => Promise<identity.CertifyResponse>;

export interface IdentityAgentOptions {
  readonly config: Pick<IdentityConfig, 'dir' | 'tokenFile' | 'trustAnchors' | 'localName' | 'minRefreshMs' | 'maxRefreshMs'>;
  readonly certify: CertifyFn;
  readonly log: Pick<Logger, 'info' | 'warn' | 'debug'>;
  readonly metrics?: IdentityMetrics;
  readonly now?: () => number;
  /** Defaults to a fresh key; tests pass one to control it. */
  readonly keys?: KeyPair;
}

export interface IdentityAgentEvents {
  credentials: [Credentials];
}

export class IdentityAgent extends EventEmitter<IdentityAgentEvents> {
  readonly ready: Promise<Credentials>;
  readonly #opts: IdentityAgentOptions;
  readonly #now: () => number;
  readonly #keys: KeyPair;
  #csr: Uint8Array | undefined;
  #current: Credentials | undefined;
  #timer: NodeJS.Timeout | undefined;
  #waitLog: NodeJS.Timeout | undefined;
  #stopped = false;
  #generation = 0;
  #resolveReady!: (c: Credentials) => void;

  constructor(opts: IdentityAgentOptions) {
    super();
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#keys = opts.keys ?? generateKeyPair();
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  get localName(): string {
    return this.#opts.config.localName;
  }

  /** The certificate in use, undefined until the first Certify succeeds. */
  current(): Credentials | undefined {
    return this.#current;
  }

  /** Writes key.p8 and csr.der (as Linkerd's entrypoint does), then certifies at once. */
  async start(): Promise<void> {
    const { dir, localName } = this.#opts.config;
    this.#csr = await createCsr({ keys: this.#keys, dnsNames: [localName] });
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'key.p8'), privateKeyToPkcs8(this.#keys.privateKey), { mode: 0o600 });
      await writeFile(join(dir, 'csr.der'), this.#csr);
    } catch (err) {
      throw new IdentityError('TRELLIS_ERR_IDENTITY_KEY_FILES', `cannot write key.p8 and csr.der under ${dir}: ${(err as Error).message}`, { cause: err });
    }
    this.#waitLog = setInterval(() => this.#opts.log.info('Waiting for identity to be initialized...'), 15_000);
    this.#waitLog.unref();
    void this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#waitLog);
  }

  /** One Certify round; never throws: failures are logged, counted and rescheduled. */
  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    try {
      const creds = await this.#certifyOnce();
      if (this.#stopped) return;
      const first = this.#current === undefined;
      this.#current = creds;
      this.#opts.metrics?.certified(creds.expiry, new Date(this.#now()));
      if (first) {
        clearInterval(this.#waitLog);
        this.#opts.log.info({ identity: creds.identity, expiry: creds.expiry.toISOString() }, 'Certified identity');
        this.#resolveReady(creds);
      } else {
        this.#opts.log.debug({ expiry: creds.expiry.toISOString() }, 'Certificate refreshed');
      }
      this.emit('credentials', creds);
    } catch (err) {
      this.#opts.metrics?.failed();
      this.#opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'Failed to obtain a certificate');
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { minRefreshMs, maxRefreshMs } = this.#opts.config;
    const delay = refreshDelayMs(this.#current?.expiry, this.#now(), minRefreshMs, maxRefreshMs);
    this.#timer = setTimeout(() => void this.#refresh(), delay);
    this.#timer.unref();
  }

  async #certifyOnce(): Promise<Credentials> {
    const { tokenFile, localName, trustAnchors } = this.#opts.config;
    let token: Buffer;
    try {
      token = await readFile(tokenFile);
    } catch (err) {
      throw new IdentityError('TRELLIS_ERR_IDENTITY_TOKEN', `cannot read the token file ${tokenFile}: ${(err as Error).message}`, { cause: err });
    }
    if (token.length === 0) throw new IdentityError('TRELLIS_ERR_IDENTITY_TOKEN', `the token file ${tokenFile} is empty`);
    let rsp: identity.CertifyResponse;
    try {
      rsp = await this.#opts.certify({ identity: localName, token, certificateSigningRequest: Buffer.from(this.#csr as Uint8Array) });
    } catch (err) {
      throw new IdentityError('TRELLIS_ERR_IDENTITY_CERTIFY', `Certify failed: ${(err as Error).message}`, { cause: err });
    }
    return verifyCertified({
      identity: localName,
      leaf: rsp.leafCertificate,
      intermediates: rsp.intermediateCertificates,
      trustAnchors,
      privateKey: this.#keys.privateKey,
      now: new Date(this.#now()),
      generation: ++this.#generation,
    });
  }
}
