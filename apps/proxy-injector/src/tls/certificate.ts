// The webhook's serving certificate, read from files and re-read when they change. A half-written or
// mismatched pair is refused and the previous one stays in use; the error is reported, never thrown at a request.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { TrellisError } from '@trellis/config';
import { watchFiles, type FileWatch } from '../files/watch.ts';

export class TlsFilesError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_TLS_FILES', message);
  }
}

export function readKeyPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    throw new TlsFilesError(`cannot read the webhook certificate/key: ${(err as Error).message}`);
  }
  try {
    // Validates the pair (a key that does not match the certificate throws here).
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsFilesError(`${certFile} and ${keyFile} are not a usable certificate and key: ${(err as Error).message}`);
  }
  return { cert, key };
}

export interface ReloadTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/** Re-reads the pair when its files change and installs it on the server; returns the watch to close. */
export function reloadOnChange(
  certFile: string,
  keyFile: string,
  target: ReloadTarget,
  report: { reloaded(): void; failed(err: unknown): void },
): FileWatch {
  let last = '';
  return watchFiles([certFile, keyFile], () => {
    try {
      const pair = readKeyPair(certFile, keyFile);
      const fingerprint = pair.cert.toString('base64') + pair.key.toString('base64');
      if (fingerprint === last) return;
      last = fingerprint;
      target.setSecureContext({ ...pair, minVersion: 'TLSv1.3' });
      report.reloaded();
    } catch (err) {
      report.failed(err);
    }
  });
}
