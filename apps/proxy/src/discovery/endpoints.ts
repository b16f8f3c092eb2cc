// The endpoints of one authority, kept from Destination/Get updates (docs/reference/linkerd-contracts.md §1.5, §3.4): add inserts or
// replaces (changed metadata → a new endpoint), remove evicts, no_endpoints empties; the first message of a
// re-subscribed stream replaces the whole set. Listeners get 'add' and 'remove' per endpoint.
import { EventEmitter } from 'node:events';
import { ipAddressToString, type destination, type net } from '@trellis/proto';

export interface Endpoint {
  /** "10.0.0.5:8080" or "[fd00::5]:8080": the key. */
  readonly addr: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  /** Set labels, then address labels (address wins); metrics prefix them with dst_. */
  readonly labels: Readonly<Record<string, string>>;
  /** Present ⇒ originate mTLS and require this identity. */
  readonly identity: string | undefined;
  /** SNI; the identity when destination gives no server_name. */
  readonly serverName: string | undefined;
  readonly hint: 'h2' | 'opaque' | undefined;
  /** Peer's inbound port for opaque transport (4143), when set. */
  readonly opaqueTransportPort: number | undefined;
  readonly authorityOverride: string | undefined;
  /** The logical name and port it was discovered by ("web-svc.emojivoto.svc.cluster.local:80"), when by name. */
  readonly authority?: string;
  /** Compared to decide whether an add changed an endpoint. */
  readonly fingerprint: string;
}

export interface EndpointSetEvents {
  add: [Endpoint];
  remove: [Endpoint];
  /** The set has had its first answer (possibly empty). */
  ready: [];
}

function addrOf(a: net.TcpAddress | undefined): { ip: string; port: number; addr: string } | undefined {
  if (!a?.ip) return undefined;
  const ip = ipAddressToString(a.ip);
  return { ip, port: a.port, addr: ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}` };
}

export function toEndpoint(w: destination.WeightedAddr, setLabels: Readonly<Record<string, string>>, authority?: string): Endpoint | undefined {
  const a = addrOf(w.addr);
  if (!a) return undefined;
  const strategy = w.tlsIdentity?.strategy;
  const identity = strategy?.$case === 'dnsLikeIdentity' ? strategy.value.name : strategy?.$case === 'uriLikeIdentity' ? strategy.value.uri : undefined;
  const serverName = w.tlsIdentity?.serverName?.name || identity;
  const p = w.protocolHint?.protocol;
  const hint = p?.$case === 'h2' ? 'h2' : p?.$case === 'opaque' ? 'opaque' : undefined;
  const opaqueTransportPort = w.protocolHint?.opaqueTransport?.inboundPort || undefined;
  const labels = { ...setLabels, ...w.metricLabels };
  const authorityOverride = w.authorityOverride?.authorityOverride || undefined;
  const weight = w.weight || 1;
  const fingerprint = JSON.stringify([weight, labels, identity, serverName, hint, opaqueTransportPort, authorityOverride]);
  return Object.freeze({ ...a, weight, labels, identity: identity || undefined, serverName: serverName || undefined, hint, opaqueTransportPort, authorityOverride, fingerprint, ...(authority ? { authority } : {}) });
}

export class EndpointSet extends EventEmitter<EndpointSetEvents> {
  readonly authority: string;
  readonly #endpoints = new Map<string, Endpoint>();
  #ready = false;

  constructor(authority: string) {
    super();
    this.authority = authority;
  }

  get isReady(): boolean {
    return this.#ready;
  }

  all(): IterableIterator<Endpoint> {
    return this.#endpoints.values();
  }

  get size(): number {
    return this.#endpoints.size;
  }

  /** Applies one Update; `fresh` marks the first message of a new stream (a reset). */
  apply(update: destination.Update, fresh: boolean): void {
    const u = update.update;
    if (fresh) {
      const keep = new Set<string>();
      if (u?.$case === 'add') for (const w of u.value.addrs) {
        const a = addrOf(w.addr);
        if (a) keep.add(a.addr);
      }
      for (const [k, e] of this.#endpoints) if (!keep.has(k)) this.#remove(k, e);
    }
    switch (u?.$case) {
      case 'add':
        for (const w of u.value.addrs) {
          const e = toEndpoint(w, u.value.metricLabels, this.authority);
          if (!e) continue;
          const old = this.#endpoints.get(e.addr);
          if (old?.fingerprint === e.fingerprint) continue;
          if (old) this.#remove(e.addr, old);
          this.#endpoints.set(e.addr, e);
          this.emit('add', e);
        }
        break;
      case 'remove':
        for (const t of u.value.addrs) {
          const a = addrOf(t);
          const old = a && this.#endpoints.get(a.addr);
          if (a && old) this.#remove(a.addr, old);
        }
        break;
      case 'noEndpoints':
        this.clear();
        break;
      default:
        break;
    }
    this.#markReady();
  }

  /** Discovery said the authority does not exist, or the watch ended for good: nothing is left. */
  clear(): void {
    for (const [k, e] of this.#endpoints) this.#remove(k, e);
    this.#markReady();
  }

  #remove(key: string, e: Endpoint): void {
    this.#endpoints.delete(key);
    this.emit('remove', e);
  }

  #markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.emit('ready');
  }
}
