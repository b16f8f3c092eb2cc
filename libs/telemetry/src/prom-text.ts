// A reader for the Prometheus text exposition our processes serve (the CLI's viz stat, the end-to-end test):
// enough of the format for counters, gauges and histograms (name, labels with escapes, value); comments and
// timestamps are skipped.
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The line as exposed, for messages and reports. */
  readonly line: string;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  let end = 0;
  for (let m = LABEL.exec(text); m; m = LABEL.exec(text)) {
    out[m[1] as string] = unescape(m[2] as string);
    end = LABEL.lastIndex;
  }
  if (text.slice(end).trim() !== '') throw new Error(`malformed labels in metrics line: ${line.slice(0, 120)}`);
  return out;
}

function parseValue(s: string, line: string): number {
  // Prometheus reads special values case-insensitively (Go's ParseFloat); prom-client writes NaN as "Nan".
  if (/^\+?inf(inity)?$/i.test(s)) return Infinity;
  if (/^-inf(inity)?$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  const n = Number(s);
  if (Number.isNaN(n)) throw new Error(`malformed value in metrics line: ${line.slice(0, 120)}`);
  return n;
}

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line.slice(0, 120)}`);
    out.push({ name: m[1] as string, labels: m[2] ? parseLabels(m[2], line) : {}, value: parseValue(m[3] as string, line), line });
  }
  return out;
}

/** The samples of metric `name` whose labels include every pair of `match`. */
export function selectSamples(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
