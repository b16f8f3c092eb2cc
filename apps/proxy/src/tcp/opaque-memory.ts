// Server-speaks-first, beyond Linkerd: a port where detection timed out is treated as opaque for a while, so
// later connections are not stalled for the whole detect timeout. Bounded: the oldest entry goes first.
import type { GaugeChild } from '../metrics/families.ts';

export class OpaqueMemory {
  private readonly until = new Map<number, number>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly gauge: GaugeChild;
  private readonly now: () => number;
  constructor(ttlMs: number, max: number, gauge: GaugeChild, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.gauge = gauge;
    this.now = now;
  }

  remember(port: number): void {
    if (this.max === 0 || this.ttlMs === 0) return;
    this.until.delete(port);
    if (this.until.size >= this.max) {
      const oldest = this.until.keys().next().value as number;
      this.until.delete(oldest);
    }
    this.until.set(port, this.now() + this.ttlMs);
    this.publish();
  }

  has(port: number): boolean {
    if (this.until.size === 0) return false;
    const t = this.until.get(port);
    if (t === undefined) return false;
    if (this.now() < t) return true;
    this.until.delete(port);
    this.publish();
    return false;
  }

  private publish(): void {
    this.gauge.inc(this.until.size - this.gauge.value);
  }
}
