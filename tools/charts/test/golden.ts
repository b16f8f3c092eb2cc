// The chart renders the golden tests compare, in one place so the cluster test applies exactly the same ones.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHARTS, type RenderOptions } from '../src/helm.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));
export const IDENTITY = join(FIXTURES, 'identity.yaml');
export const WEBHOOK_TLS = join(FIXTURES, 'webhook-tls.yaml');
export const CUSTOM = join(FIXTURES, 'custom.yaml');
export const VALUES_HA = join(CHARTS.controlPlane, 'values-ha.yaml');

export interface GoldenCase {
  readonly name: string;
  readonly chart: string;
  readonly opts: RenderOptions;
}

/** Fixed certificates make the renders reproducible (the chart would otherwise generate webhook certificates). */
export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'control-plane-default', chart: CHARTS.controlPlane, opts: { values: [IDENTITY, WEBHOOK_TLS] } },
  { name: 'control-plane-ha', chart: CHARTS.controlPlane, opts: { values: [IDENTITY, WEBHOOK_TLS, VALUES_HA] } },
  { name: 'control-plane-custom', chart: CHARTS.controlPlane, opts: { values: [IDENTITY, WEBHOOK_TLS, CUSTOM], namespace: 'mesh-system' } },
  { name: 'crds-default', chart: CHARTS.crds, opts: {} },
  { name: 'crds-gateway-api', chart: CHARTS.crds, opts: { set: { installGatewayAPI: 'true' } } },
];

/**
 * Templates of trellis-crds that destination owns and tests itself (its harness loads them as plain YAML): left out
 * of the goldens here so the two projects do not have to refresh each other's golden files.
 */
export const FOREIGN_TEMPLATES = ['trellis-crds/templates/serviceprofile.yaml', 'trellis-crds/templates/policy/server.yaml'];

/** The rendered text minus the documents of FOREIGN_TEMPLATES. */
export function goldenText(rendered: string): string {
  return rendered
    .split(/^(?=---\n)/m)
    .filter((doc) => !FOREIGN_TEMPLATES.some((t) => doc.startsWith(`---\n# Source: ${t}\n`)))
    .join('');
}
