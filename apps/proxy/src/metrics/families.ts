// Metric families for the hot path. prom-client's bound children hash their label object on every inc(), so
// the data path uses these instead: a child is a plain object found once (per target, per status) and kept by
// the caller, inc() adds to a number, and the text exposition is rendered on scrape. Idle series are evicted
// by a sweep that compares values between sweeps, so the hot path never reads a clock for it.

/** Renders `k="v",...` with Prometheus escaping. Called when a target is first seen, never per request. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (const k in labels) {
    const v = (labels[k] as string).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    out += `${out ? ',' : ''}${k}="${v}"`;
  }
  return out;
}

export function joinLabels(a: string, b: string): string {
  return a && b ? `${a},${b}` : a || b;
}

abstract class Child {
  /** Value at the last sweep, and when it stopped changing. */
  seen = -1;
  idleSince = 0;
  attached = true;
  readonly family: Family<Child>;
  readonly labels: string;
  constructor(family: Family<Child>, labels: string) {
    this.family = family;
    this.labels = labels;
  }
  abstract activity(): number;
  /** Series in use are never evicted (open connections, for example). */
  busy(): boolean {
    return false;
  }
  protected touch(): void {
    if (!this.attached) this.family.reattach(this);
  }
}

export class CounterChild extends Child {
  value = 0;
  inc(n = 1): void {
    this.value += n;
    if (!this.attached) this.touch();
  }
  activity(): number {
    return this.value;
  }
}

export class GaugeChild extends Child {
  value = 0;
  changes = 0;
  inc(n = 1): void {
    this.value += n;
    this.changes++;
    if (!this.attached) this.touch();
  }
  dec(n = 1): void {
    this.inc(-n);
  }
  activity(): number {
    return this.changes;
  }
  override busy(): boolean {
    return this.value !== 0;
  }
}

export class HistogramChild extends Child {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];
  constructor(family: HistogramFamily, labels: string, bounds: readonly number[]) {
    super(family as Family<Child>, labels);
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
    if (!this.attached) this.touch();
  }
  activity(): number {
    return this.count;
  }
}

export abstract class Family<C extends Child> {
  protected readonly children = new Map<string, C>();
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram') {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  protected abstract create(labels: string): C;
  /** The child for a pre-rendered label string; callers keep it rather than asking again. */
  child(labels: string): C {
    let c = this.children.get(labels);
    if (!c) {
      c = this.create(labels);
      this.children.set(labels, c);
    }
    return c;
  }
  reattach(c: Child): void {
    c.attached = true;
    c.seen = -1;
    if (!this.children.has(c.labels)) this.children.set(c.labels, c as C);
  }
  /** Drops series that have not changed for `retainMs`. */
  sweep(now: number, retainMs: number): void {
    for (const [k, c] of this.children) {
      const a = c.activity();
      if (a !== c.seen || c.busy()) {
        c.seen = a;
        c.idleSince = now;
      } else if (now - c.idleSince >= retainMs) {
        c.attached = false;
        this.children.delete(k);
      }
    }
  }
  size(): number {
    return this.children.size;
  }
  render(): string {
    if (this.children.size === 0) return '';
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    for (const c of this.children.values()) out += this.renderChild(c);
    return out;
  }
  protected abstract renderChild(c: C): string;
}

export class CounterFamily extends Family<CounterChild> {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  protected create(labels: string): CounterChild {
    return new CounterChild(this as Family<Child>, labels);
  }
  protected renderChild(c: CounterChild): string {
    return `${this.name}{${c.labels}} ${c.value}\n`;
  }
}

export class GaugeFamily extends Family<GaugeChild> {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  protected create(labels: string): GaugeChild {
    return new GaugeChild(this as Family<Child>, labels);
  }
  protected renderChild(c: GaugeChild): string {
    return `${this.name}{${c.labels}} ${c.value}\n`;
  }
}

export class HistogramFamily extends Family<HistogramChild> {
  readonly bounds: readonly number[];
  constructor(name: string, help: string, bounds: readonly number[]) {
    super(name, help, 'histogram');
    this.bounds = bounds;
  }
  protected create(labels: string): HistogramChild {
    return new HistogramChild(this, labels, this.bounds);
  }
  protected renderChild(c: HistogramChild): string {
    let out = '';
    let cumulative = 0;
    const sep = c.labels ? ',' : '';
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += c.counts[i] as number;
      const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
      out += `${this.name}_bucket{${c.labels}${sep}le="${le}"} ${cumulative}\n`;
    }
    out += `${this.name}_sum{${c.labels}} ${c.sum}\n${this.name}_count{${c.labels}} ${c.count}\n`;
    return out;
  }
}
