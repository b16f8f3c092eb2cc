// The issuer currently used to sign, loaded from files (crt.pem + key.pem in the issuer directory, and the
// trust-anchor bundle) and replaced only by a valid successor. A refused successor leaves the current issuer
// serving; listeners turn outcomes into logs, metrics and Kubernetes Events.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CertificateAuthority } from '@trellis/pki';
import type { IssuerSource } from '../certify/certify-service.ts';

export interface IssuerFiles {
  readonly certificate: string;
  readonly key: string;
  readonly trustAnchors: string;
}

export type ReloadOutcome =
  | { readonly kind: 'accepted'; readonly authority: CertificateAuthority; readonly initial: boolean }
  | { readonly kind: 'refused'; readonly reason: string; readonly serving: boolean }
  | { readonly kind: 'unchanged' };

export interface IssuerStoreOptions {
  readonly files: IssuerFiles;
  readonly now?: () => Date;
  /** Called for every accepted or refused candidate (not for unchanged files). */
  readonly onOutcome?: (outcome: Exclude<ReloadOutcome, { kind: 'unchanged' }>) => void;
}

export class IssuerStore implements IssuerSource {
  readonly #o: IssuerStoreOptions;
  #current: CertificateAuthority | undefined;
  /** Fingerprint of the last candidate looked at, accepted or refused, so a poll does not repeat outcomes. */
  #lastSeen: string | undefined;
  #running: Promise<ReloadOutcome> | undefined;
  #again = false;

  constructor(opts: IssuerStoreOptions) {
    this.#o = opts;
  }

  current(): CertificateAuthority | undefined {
    return this.#current;
  }

  /** True when an issuer is loaded and within its validity. */
  ready(): boolean {
    return this.#current?.isValidAt(this.#o.now?.() ?? new Date()) ?? false;
  }

  /**
   * Reads the files and, if they changed, validates and installs them. Calls made while a reload runs are
   * coalesced into one more reload afterwards, so the last write always gets looked at.
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let outcome: ReloadOutcome;
      do {
        this.#again = false;
        outcome = await this.#reloadOnce();
      } while (this.#again);
      return outcome;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    const { files } = this.#o;
    let texts: [string, string, string];
    try {
      texts = await Promise.all([readFile(files.certificate, 'utf8'), readFile(files.key, 'utf8'), readFile(files.trustAnchors, 'utf8')]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return this.#report(`read:${e.code}:${e.path}`, () => ({ kind: 'refused', reason: `cannot read ${e.path ?? 'issuer files'}: ${e.code ?? e.message}`, serving: this.#current !== undefined }));
    }
    const [certificatePem, privateKeyPem, trustAnchorsPem] = texts;
    const seen = createHash('sha256').update(certificatePem).update('\0').update(privateKeyPem).update('\0').update(trustAnchorsPem).digest('hex');
    return this.#report(seen, () => {
      try {
        const authority = CertificateAuthority.fromPem({ certificatePem, privateKeyPem, trustAnchorsPem, now: this.#o.now?.() ?? new Date() });
        const initial = this.#current === undefined;
        this.#current = authority;
        return { kind: 'accepted', authority, initial };
      } catch (err) {
        return { kind: 'refused', reason: (err as Error).message, serving: this.#current !== undefined };
      }
    });
  }

  #report(fingerprint: string, decide: () => Exclude<ReloadOutcome, { kind: 'unchanged' }>): ReloadOutcome {
    if (fingerprint === this.#lastSeen) return { kind: 'unchanged' };
    this.#lastSeen = fingerprint;
    const outcome = decide();
    this.#o.onOutcome?.(outcome);
    return outcome;
  }
}
