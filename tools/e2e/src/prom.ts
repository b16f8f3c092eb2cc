// Proxy and demo-app metrics for the end-to-end test, read with the shared exposition reader.
import { parsePrometheusText, selectSamples, type Sample } from '@trellis/telemetry';

export type { Sample };
export const parseMetrics = parsePrometheusText;
export const select = selectSamples;

/** The sum of the matching samples' values (0 when none match). */
export const total = (samples: readonly Sample[], name: string, match: Readonly<Record<string, string>>): number =>
  select(samples, name, match).reduce((sum, s) => sum + s.value, 0);
