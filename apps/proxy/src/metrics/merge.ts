// With LINKERD2_PROXY_CORES > 1 every thread counts its own connections and requests; /metrics is one exposition:
// the threads' texts summed series by series (counters, gauges and histogram buckets alike add up), each family
// once, with its HELP and TYPE from the first text that has it. A series only one thread holds keeps its text.

interface Family {
  readonly head: string[];
  readonly series: Map<string, { value: number; text: string; sources: number }>;
}

/** The series key of a sample line (`name{labels}`), and its value's text; undefined for a line that is not one. */
function splitSample(line: string): [string, string] | undefined {
  // Label values may hold spaces; the value follows the last space (no timestamps are written by our renderers).
  const close = line.lastIndexOf('}');
  const space = line.indexOf(' ', close === -1 ? 0 : close);
  if (space <= 0) return undefined;
  return [line.slice(0, space), line.slice(space + 1).trim()];
}

function familyOf(families: Map<string, Family>, name: string): Family {
  let f = families.get(name);
  if (!f) {
    f = { head: [], series: new Map() };
    families.set(name, f);
  }
  return f;
}

export function mergeExpositions(texts: readonly string[]): string {
  if (texts.length === 1) return texts[0] ?? '';
  const families = new Map<string, Family>();
  for (const text of texts) {
    let current: Family | undefined;
    let currentName = '';
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+)/.exec(line);
        if (!m) continue;
        const name = m[2] as string;
        if (name !== currentName) {
          currentName = name;
          current = familyOf(families, name);
        }
        const kind = m[1] as string;
        if (!(current as Family).head.some((h) => h.startsWith(`# ${kind} `))) (current as Family).head.push(line);
        continue;
      }
      const sample = splitSample(line);
      if (!sample) continue;
      const [key, valueText] = sample;
      const sampleName = key.split('{', 1)[0] as string;
      // A sample without a HELP or TYPE of its own (or of its histogram's) is its own family.
      if (!current || !sampleName.startsWith(currentName)) {
        currentName = sampleName;
        current = familyOf(families, sampleName);
      }
      const s = current.series.get(key);
      const value = Number(valueText);
      if (!s) current.series.set(key, { value, text: valueText, sources: 1 });
      else {
        s.value += value;
        s.sources++;
      }
    }
  }
  let out = '';
  for (const f of families.values()) {
    for (const h of f.head) out += `${h}\n`;
    for (const [key, s] of f.series) out += `${key} ${s.sources === 1 ? s.text : String(s.value)}\n`;
  }
  return out;
}
