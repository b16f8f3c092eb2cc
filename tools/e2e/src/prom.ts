// Reads Prometheus text exposition (a proxy's or a demo app's /metrics) into samples that tests can filter by label.
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The line as exposed, for messages and reports. */
  readonly line: string;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]), line });
  }
  return samples;
}

/** The samples of metric `name` whose labels include every pair of `match`. */
export function select(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The sum of those samples' values (0 when none match). */
export const total = (samples: readonly Sample[], name: string, match: Readonly<Record<string, string>>): number =>
  select(samples, name, match).reduce((sum, s) => sum + s.value, 0);
