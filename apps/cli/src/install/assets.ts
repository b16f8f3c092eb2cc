// Where the CLI finds the Helm charts it renders and the pinned tool versions: beside the bundle (assets/, copied
// by the build), extracted from the standalone executable, or in the repository when run from source.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrellisError } from '@trellis/config';
import { standaloneAssets } from './standalone.ts';

export interface Assets {
  /** Holds trellis-crds/ and trellis-control-plane/. */
  readonly chartsDir: string;
  readonly helmVersion: string;
  /** The Kubernetes version helm renders for (its own default, v1.20, is older than the charts accept). */
  readonly kubeVersion: string;
}

export class AssetsError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_ASSETS', message);
  }
}

function layouts(): { charts: string; versions: string }[] {
  // Undefined in the CommonJS bundle of the standalone executable, which reads its embedded assets instead.
  const here = (import.meta as { dirname?: string }).dirname;
  if (here === undefined) return [];
  const bundled = join(here, 'assets');
  const repo = join(here, '..', '..', '..', '..');
  return [
    { charts: join(bundled, 'charts'), versions: join(bundled, 'versions.env') },
    { charts: join(repo, 'helm'), versions: join(repo, 'tools', 'bin', 'versions.env') },
  ];
}

let cached: Assets | undefined;

export function assets(): Assets {
  if (cached) return cached;
  const found = standaloneAssets() ?? layouts().find((l) => existsSync(join(l.charts, 'trellis-control-plane', 'Chart.yaml')) && existsSync(l.versions));
  if (!found) throw new AssetsError(`the Helm charts are missing beside this CLI (looked in ${layouts().map((l) => l.charts).join(', ')})`);
  const text = readFileSync(found.versions, 'utf8');
  const pinned = (name: string) => {
    const v = new RegExp(`^${name}=(\\S+)$`, 'm').exec(text)?.[1];
    if (!v) throw new AssetsError(`${found.versions} pins no ${name}`);
    return v;
  };
  cached = { chartsDir: found.charts, helmVersion: pinned('HELM_VERSION'), kubeVersion: pinned('KUBERNETES_VERSION') };
  return cached;
}
