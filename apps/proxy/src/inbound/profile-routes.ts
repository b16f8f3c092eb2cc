// Inbound ServiceProfile route metrics (docs/reference/linkerd-proxy.md §6 "Route metrics"): the server proxy
// names each admitted request by its logical destination, the `l5d-dst-canonical` a client proxy added on a
// profile route, else its `:authority`/Host (a name without a port takes the connection's port), and counts it
// under that name's profile routes as route_*{direction="inbound",dst="<name>"}: the first matching route, or the
// default route (no rt_* labels) when none matches. Names without a profile with routes count nothing.
//
// Each name's profile is watched once (Destination/GetProfile through the proxy's discovery) and kept while
// requests use it: a request costs one map lookup, and waits for its name's first answer only while that first
// lookup is in flight (at most the profile initial timeout, as Linkerd's inbound does). A name unused for a whole
// idle period is dropped with its stream. Names outside the profile suffixes (and IP addresses) are never looked
// up; past MAX_NAMES, new names are not looked up either, so clients choosing Host values cannot open streams
// without bound.
import type { Discovery, Lease, ProfileWatch } from '../discovery/discovery.ts';
import type { Exchange, HttpLayer } from '../http/exchange.ts';
import { countRoute, LogicalRouteSeries, type RouteMetricFamilies } from '../profiles/metrics.ts';
import { compileProfile, L5D_DST_CANONICAL, routeForTarget, type CompiledProfile } from '../profiles/routes.ts';

/** How many names are watched at once, at most. */
export const MAX_NAMES = 1000;

export interface InboundProfileOptions {
  /** How long a name's first request waits for its profile (LINKERD2_PROXY_DESTINATION_PROFILE_INITIAL_TIMEOUT). */
  readonly initialTimeoutMs: number;
  /** A name no request used for this long is dropped (LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT). */
  readonly idleTimeoutMs: number;
}

interface Entry {
  readonly lease: Lease<ProfileWatch>;
  readonly series: LogicalRouteSeries;
  /** The profile when it has routes; undefined otherwise (nothing to count). */
  profile: CompiledProfile | undefined;
  /** Until the first answer: what the first requests wait for. */
  first: Promise<unknown> | undefined;
  used: boolean;
  readonly stop: () => void;
}

/**
 * The logical name of a request: `host:port`, lower-case, without a trailing dot; undefined when the value is no
 * name (empty, or an IP address, which has no profile by name).
 */
export function logicalName(value: string | undefined, defaultPort: number): string | undefined {
  if (!value) return undefined;
  const m = /^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)\.?(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  const host = (m[1] as string).toLowerCase();
  if (/^[\d.]+$/.test(host)) return undefined;
  return `${host}:${m[2] ?? defaultPort}`;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The request's logical destination, as the inbound looks its profile up. */
export function requestLogicalName(ex: Exchange): string | undefined {
  const port = ex.entry.target.port;
  const canonical = logicalName(first(ex.header(L5D_DST_CANONICAL)), port);
  if (canonical) return canonical;
  return logicalName(first(ex.header(':authority')) ?? first(ex.header('host')), port);
}

export class InboundProfiles {
  readonly #discovery: Discovery;
  readonly #families: RouteMetricFamilies;
  readonly #o: InboundProfileOptions;
  readonly #entries = new Map<string, Entry>();
  /** Names that have no profile lookup (ineligible, or past MAX_NAMES when first seen), remembered for a cheap miss. */
  readonly #none = new Set<string>();
  readonly #sweep: NodeJS.Timeout;

  constructor(discovery: Discovery, families: RouteMetricFamilies, o: InboundProfileOptions) {
    this.#discovery = discovery;
    this.#families = families;
    this.#o = o;
    this.#sweep = setInterval(() => this.sweep(), o.idleTimeoutMs);
    this.#sweep.unref();
  }

  /** Names watched now (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  #entry(name: string): Entry | undefined {
    const e = this.#entries.get(name);
    if (e || this.#none.has(name)) return e;
    const host = name.slice(0, name.lastIndexOf(':'));
    const lease = this.#entries.size < MAX_NAMES ? this.#discovery.profile(name, host) : undefined;
    if (!lease) {
      if (this.#none.size < MAX_NAMES) this.#none.add(name);
      return undefined;
    }
    const pw = lease.value;
    const set = (p: Parameters<typeof compileProfile>[0] | undefined) => {
      const c = p ? compileProfile(p) : undefined;
      entry.profile = c && c.routes.length > 0 ? c : undefined;
    };
    const onUpdate = (p: Parameters<typeof compileProfile>[0]) => set(p);
    const onNotFound = () => set(undefined);
    const entry: Entry = {
      lease,
      series: new LogicalRouteSeries(this.#families, 'inbound', name),
      profile: undefined,
      first: undefined,
      used: true,
      stop: () => {
        pw.off('update', onUpdate);
        pw.off('notFound', onNotFound);
        lease.release();
      },
    };
    pw.on('update', onUpdate);
    pw.on('notFound', onNotFound);
    if (pw.current || pw.notFound) set(pw.current);
    else entry.first = pw.first(this.#o.initialTimeoutMs).then(() => (entry.first = undefined));
    this.#entries.set(name, entry);
    return entry;
  }

  /** The HTTP layer: counts each request under its name's profile route, then passes it on. */
  layer(): HttpLayer {
    return (next) => (ex) => {
      const name = requestLogicalName(ex);
      const e = name === undefined ? undefined : this.#entry(name);
      if (!e) return next(ex);
      e.used = true;
      if (e.first) {
        void e.first.then(() => {
          this.#count(ex, e);
          next(ex);
        });
        return;
      }
      this.#count(ex, e);
      next(ex);
    };
  }

  #count(ex: Exchange, e: Entry): void {
    const p = e.profile;
    if (!p || ex.finished) return;
    const head = ex.requestHead();
    const route = routeForTarget(p, head.method, head.target);
    countRoute(ex, route, e.series.of(route));
  }

  /** Drops the names no request used since the last sweep. */
  sweep(): void {
    for (const [name, e] of this.#entries) {
      if (e.used) {
        e.used = false;
        continue;
      }
      this.#entries.delete(name);
      e.stop();
    }
    this.#none.clear();
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const e of this.#entries.values()) e.stop();
    this.#entries.clear();
    this.#none.clear();
  }
}
