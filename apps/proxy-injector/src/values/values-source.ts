// The values the injector renders with: the mounted trellis-config values file plus the trust-anchor bundle,
// parsed once and re-parsed when either file changes. A bad update is reported and the last good values stay.
import { readFileSync } from 'node:fs';
import { TrellisError } from '@trellis/config';
import { resolveValues, type Values } from '@trellis/inject';
import { parse } from 'yaml';
import { watchFiles, type FileWatch } from '../files/watch.ts';

export class ValuesFileError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_VALUES_FILE', message);
  }
}

export function loadValues(valuesFile: string, trustAnchorsFile: string): Values {
  let text: string;
  try {
    text = readFileSync(valuesFile, 'utf8');
  } catch (err) {
    throw new ValuesFileError(`cannot read values file: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ValuesFileError(`values file ${valuesFile} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  let anchors: string;
  try {
    anchors = readFileSync(trustAnchorsFile, 'utf8');
  } catch (err) {
    throw new ValuesFileError(`cannot read trust anchors: ${(err as Error).message}`);
  }
  if (!anchors.includes('-----BEGIN CERTIFICATE-----')) throw new ValuesFileError(`trust anchors file ${trustAnchorsFile} holds no PEM certificate`);
  const base = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  if (doc !== null && doc !== undefined && base !== doc) throw new ValuesFileError(`values file ${valuesFile}: expected a YAML mapping`);
  return resolveValues({ ...base, identityTrustAnchorsPEM: anchors });
}

export class ValuesSource {
  #current: Values;
  #watch: FileWatch | undefined;

  constructor(initial: Values) {
    this.#current = initial;
  }

  get current(): Values {
    return this.#current;
  }

  watch(valuesFile: string, trustAnchorsFile: string, report: { reloaded(): void; failed(err: unknown): void }): void {
    this.#watch = watchFiles([valuesFile, trustAnchorsFile], () => {
      try {
        this.#current = loadValues(valuesFile, trustAnchorsFile);
        report.reloaded();
      } catch (err) {
        report.failed(err);
      }
    });
  }

  close(): void {
    this.#watch?.close();
  }
}
