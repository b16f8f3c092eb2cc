// The in-memory index every API answers from: slim records keyed by namespace/name, secondary indexes by
// IP, and topics that streams subscribe to. The index knows nothing about Kubernetes clients; the watch
// wiring (watches.ts) feeds it, and unit tests feed it directly.
import { isServerRef, isServiceRef, routeKey, type RouteRecord } from '../policy/routes.ts';
import type { AuthorizationPolicyRecord, MeshTLSAuthenticationRecord, NetworkAuthenticationRecord, ServerAuthorizationRecord } from '../policy/authz.ts';
import type { NamespaceRecord, PodRecord, ProfileRecord, ServerRecord, ServiceRecord, SliceRecord } from './model.ts';

export type Listener = () => void;

export const topic = {
  /** The Service, its EndpointSlices, or a Pod behind them changed. */
  service: (ns: string, name: string) => `svc:${ns}/${name}`,
  /** Something with this IP (a Service's cluster IP, a Pod IP) appeared, changed or went away. */
  ip: (ip: string) => `ip:${ip}`,
  pod: (ns: string, name: string) => `pod:${ns}/${name}`,
  node: (name: string) => `node:${name}`,
  namespace: (name: string) => `ns:${name}`,
  servers: (ns: string) => `srv:${ns}`,
  /** An inbound policy resource in the namespace changed (AuthorizationPolicy, ServerAuthorization, a route to a Server). */
  policy: (ns: string) => `pol:${ns}`,
  /** A MeshTLSAuthentication or NetworkAuthentication changed (policies in any namespace may refer to it). */
  authentications: () => 'authn',
  profile: (ns: string, name: string) => `sp:${ns}/${name}`,
};

const key = (ns: string, name: string) => `${ns}/${name}`;

function addTo<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) map.delete(k);
}

export class ClusterIndex {
  private readonly services = new Map<string, ServiceRecord>();
  private readonly servicesByIP = new Map<string, Set<string>>();
  private readonly slices = new Map<string, SliceRecord>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly podsByIP = new Map<string, Set<string>>();
  /** Pod key -> keys of the Services whose slices name that Pod (with a count per slice reference). */
  private readonly servicesByPod = new Map<string, Map<string, number>>();
  private readonly nodeZones = new Map<string, string>();
  private readonly namespaces = new Map<string, NamespaceRecord>();
  private readonly servers = new Map<string, ServerRecord>();
  private readonly serversByNamespace = new Map<string, Set<string>>();
  private readonly profiles = new Map<string, ProfileRecord>();
  private readonly routes = new Map<string, RouteRecord>();
  /** Service key (ns/name) -> keys of the routes with a parentRef to it. */
  private readonly routesByService = new Map<string, Set<string>>();
  /** Server key (ns/name) -> keys of the routes with a parentRef to it. */
  private readonly routesByServer = new Map<string, Set<string>>();
  /** Service key -> keys of the routes with a backendRef to it (their policies change when it comes or goes). */
  private readonly routesByBackend = new Map<string, Set<string>>();
  private readonly authorizationPolicies = new Map<string, Map<string, AuthorizationPolicyRecord>>();
  private readonly serverAuthorizations = new Map<string, Map<string, ServerAuthorizationRecord>>();
  private readonly meshTLSAuthentications = new Map<string, MeshTLSAuthenticationRecord>();
  private readonly networkAuthentications = new Map<string, NetworkAuthenticationRecord>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private serverChanges = 0;

  // ---- reads

  service(ns: string, name: string): ServiceRecord | undefined {
    return this.services.get(key(ns, name));
  }

  /** Services whose cluster IPs include `ip`. */
  servicesWithIP(ip: string): ServiceRecord[] {
    return [...(this.servicesByIP.get(ip) ?? [])].flatMap((k) => this.services.get(k) ?? []);
  }

  slicesOf(ns: string, name: string): SliceRecord[] {
    return [...(this.slicesByService.get(key(ns, name)) ?? [])].flatMap((k) => this.slices.get(k) ?? []);
  }

  pod(ns: string, name: string): PodRecord | undefined {
    return this.pods.get(key(ns, name));
  }

  podsWithIP(ip: string): PodRecord[] {
    return [...(this.podsByIP.get(ip) ?? [])].flatMap((k) => this.pods.get(k) ?? []);
  }

  /** The zone label of a Node ("" when unknown). */
  nodeZone(name: string | undefined): string {
    return name === undefined ? '' : (this.nodeZones.get(name) ?? '');
  }

  namespace(name: string): NamespaceRecord | undefined {
    return this.namespaces.get(name);
  }

  /** Changes whenever any Server is added, changed or removed (so derived results can be reused until then). */
  get serversVersion(): number {
    return this.serverChanges;
  }

  serversIn(ns: string): ServerRecord[] {
    return [...(this.serversByNamespace.get(ns) ?? [])].flatMap((k) => this.servers.get(k) ?? []);
  }

  profile(ns: string, name: string): ProfileRecord | undefined {
    return this.profiles.get(key(ns, name));
  }

  /** Routes (valid or not) with a parentRef to this Service. */
  routesOfService(ns: string, name: string): RouteRecord[] {
    return [...(this.routesByService.get(key(ns, name)) ?? [])].flatMap((k) => this.routes.get(k) ?? []);
  }

  /** Routes (valid or not) with a parentRef to this Server. */
  routesOfServer(ns: string, name: string): RouteRecord[] {
    return [...(this.routesByServer.get(key(ns, name)) ?? [])].flatMap((k) => this.routes.get(k) ?? []);
  }

  authorizationPoliciesIn(ns: string): Iterable<AuthorizationPolicyRecord> {
    return this.authorizationPolicies.get(ns)?.values() ?? [];
  }

  serverAuthorizationsIn(ns: string): Iterable<ServerAuthorizationRecord> {
    return this.serverAuthorizations.get(ns)?.values() ?? [];
  }

  meshTLSAuthentication(ns: string, name: string): MeshTLSAuthenticationRecord | undefined {
    return this.meshTLSAuthentications.get(key(ns, name));
  }

  networkAuthentication(ns: string, name: string): NetworkAuthenticationRecord | undefined {
    return this.networkAuthentications.get(key(ns, name));
  }

  route(group: string, kind: string, ns: string, name: string): RouteRecord | undefined {
    return this.routes.get(routeKey({ group, kind, namespace: ns, name }));
  }

  sizes(): Record<string, number> {
    return {
      service: this.services.size,
      endpointslice: this.slices.size,
      pod: this.pods.size,
      node: this.nodeZones.size,
      namespace: this.namespaces.size,
      server: this.servers.size,
      serviceprofile: this.profiles.size,
      route: this.routes.size,
      authorizationpolicy: [...this.authorizationPolicies.values()].reduce((n, m) => n + m.size, 0),
      serverauthorization: [...this.serverAuthorizations.values()].reduce((n, m) => n + m.size, 0),
      meshtlsauthentication: this.meshTLSAuthentications.size,
      networkauthentication: this.networkAuthentications.size,
    };
  }

  // ---- subscriptions

  /** Calls `fn` after any change to one of `topics`; returns the unsubscribe function. */
  subscribe(topics: readonly string[], fn: Listener): () => void {
    for (const t of topics) addTo(this.listeners, t, fn);
    return () => {
      for (const t of topics) removeFrom(this.listeners, t, fn);
    };
  }

  private notify(t: string): void {
    const set = this.listeners.get(t);
    if (!set) return;
    for (const fn of [...set]) fn();
  }

  // ---- writes (from watches)

  upsertService(rec: ServiceRecord): void {
    const k = key(rec.namespace, rec.name);
    const old = this.services.get(k);
    for (const ip of old?.clusterIPs ?? []) removeFrom(this.servicesByIP, ip, k);
    this.services.set(k, rec);
    for (const ip of rec.clusterIPs) addTo(this.servicesByIP, ip, k);
    this.notify(topic.service(rec.namespace, rec.name));
    if (!old) this.notifyRoutesWithBackend(k);
    for (const ip of new Set([...(old?.clusterIPs ?? []), ...rec.clusterIPs])) this.notify(topic.ip(ip));
  }

  deleteService(ns: string, name: string): void {
    const k = key(ns, name);
    const old = this.services.get(k);
    if (!old) return;
    this.services.delete(k);
    for (const ip of old.clusterIPs) removeFrom(this.servicesByIP, ip, k);
    this.notify(topic.service(ns, name));
    for (const ip of old.clusterIPs) this.notify(topic.ip(ip));
    this.notifyRoutesWithBackend(k);
  }

  // A route's backend to a missing Service becomes an invalid backend, so its parents' policies change.
  private notifyRoutesWithBackend(svcKey: string): void {
    for (const rk of this.routesByBackend.get(svcKey) ?? []) {
      const r = this.routes.get(rk);
      if (r) this.notifyRouteParents(r);
    }
  }

  private notifyRouteParents(r: RouteRecord): void {
    for (const p of r.parentRefs) {
      if (isServiceRef(p)) this.notify(topic.service(p.namespace, p.name));
      else if (isServerRef(p)) this.notify(topic.policy(p.namespace));
    }
    // Authorization policies may target the route itself.
    this.notify(topic.policy(r.namespace));
  }

  private linkRoute(k: string, r: RouteRecord, link: typeof addTo): void {
    for (const p of r.parentRefs) {
      if (isServiceRef(p)) link(this.routesByService, key(p.namespace, p.name), k);
      else if (isServerRef(p)) link(this.routesByServer, key(p.namespace, p.name), k);
    }
    for (const rule of r.rules) for (const b of rule.backends) if (isServiceRef(b)) link(this.routesByBackend, key(b.namespace, b.name), k);
  }

  upsertRoute(rec: RouteRecord): void {
    const k = routeKey(rec);
    const old = this.routes.get(k);
    if (old) this.linkRoute(k, old, removeFrom);
    this.routes.set(k, rec);
    this.linkRoute(k, rec, addTo);
    if (old) this.notifyRouteParents(old);
    this.notifyRouteParents(rec);
  }

  deleteRoute(group: string, kind: string, ns: string, name: string): void {
    const k = routeKey({ group, kind, namespace: ns, name });
    const old = this.routes.get(k);
    if (!old) return;
    this.routes.delete(k);
    this.linkRoute(k, old, removeFrom);
    this.notifyRouteParents(old);
  }

  upsertSlice(rec: SliceRecord): void {
    const k = key(rec.namespace, rec.name);
    const old = this.slices.get(k);
    if (old) this.unlinkSlice(k, old);
    this.slices.set(k, rec);
    const svc = key(rec.namespace, rec.serviceName);
    addTo(this.slicesByService, svc, k);
    for (const e of rec.endpoints) {
      if (e.podName === undefined) continue;
      const pk = key(rec.namespace, e.podName);
      let refs = this.servicesByPod.get(pk);
      if (!refs) this.servicesByPod.set(pk, (refs = new Map()));
      refs.set(svc, (refs.get(svc) ?? 0) + 1);
    }
    if (old && old.serviceName !== rec.serviceName) this.notify(topic.service(old.namespace, old.serviceName));
    this.notify(topic.service(rec.namespace, rec.serviceName));
  }

  deleteSlice(ns: string, name: string): void {
    const k = key(ns, name);
    const old = this.slices.get(k);
    if (!old) return;
    this.unlinkSlice(k, old);
    this.slices.delete(k);
    this.notify(topic.service(old.namespace, old.serviceName));
  }

  private unlinkSlice(k: string, old: SliceRecord): void {
    const svc = key(old.namespace, old.serviceName);
    removeFrom(this.slicesByService, svc, k);
    for (const e of old.endpoints) {
      if (e.podName === undefined) continue;
      const pk = key(old.namespace, e.podName);
      const refs = this.servicesByPod.get(pk);
      if (!refs) continue;
      const n = (refs.get(svc) ?? 0) - 1;
      if (n > 0) refs.set(svc, n);
      else refs.delete(svc);
      if (refs.size === 0) this.servicesByPod.delete(pk);
    }
  }

  upsertPod(rec: PodRecord): void {
    const k = key(rec.namespace, rec.name);
    const old = this.pods.get(k);
    for (const ip of old?.ips ?? []) removeFrom(this.podsByIP, ip, k);
    if (rec.hostNetwork && old?.hostIP) removeFrom(this.podsByIP, old.hostIP, k);
    this.pods.set(k, rec);
    for (const ip of this.indexedIPs(rec)) addTo(this.podsByIP, ip, k);
    this.notifyPod(k, rec, old);
  }

  deletePod(ns: string, name: string): void {
    const k = key(ns, name);
    const old = this.pods.get(k);
    if (!old) return;
    this.pods.delete(k);
    for (const ip of this.indexedIPs(old)) removeFrom(this.podsByIP, ip, k);
    this.notifyPod(k, undefined, old);
  }

  // hostNetwork pods share the node's IP; they are found by hostIP (and then hostPort).
  private indexedIPs(rec: PodRecord): string[] {
    return rec.hostNetwork && rec.hostIP ? [rec.hostIP] : [...rec.ips];
  }

  private notifyPod(k: string, rec: PodRecord | undefined, old: PodRecord | undefined): void {
    const any = (rec ?? old) as PodRecord;
    this.notify(topic.pod(any.namespace, any.name));
    const ips = new Set([...(old ? this.indexedIPs(old) : []), ...(rec ? this.indexedIPs(rec) : [])]);
    for (const ip of ips) this.notify(topic.ip(ip));
    for (const svc of this.servicesByPod.get(k)?.keys() ?? []) this.notify(`svc:${svc}`);
  }

  upsertNode(name: string, zone: string): void {
    if (this.nodeZones.get(name) === zone) return;
    this.nodeZones.set(name, zone);
    this.notify(topic.node(name));
  }

  deleteNode(name: string): void {
    if (this.nodeZones.delete(name)) this.notify(topic.node(name));
  }

  upsertNamespace(rec: NamespaceRecord): void {
    this.namespaces.set(rec.name, rec);
    this.notify(topic.namespace(rec.name));
  }

  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name)) this.notify(topic.namespace(name));
  }

  upsertServer(rec: ServerRecord): void {
    const k = key(rec.namespace, rec.name);
    this.servers.set(k, rec);
    this.serverChanges++;
    addTo(this.serversByNamespace, rec.namespace, k);
    this.notify(topic.servers(rec.namespace));
  }

  deleteServer(ns: string, name: string): void {
    const k = key(ns, name);
    if (!this.servers.delete(k)) return;
    this.serverChanges++;
    removeFrom(this.serversByNamespace, ns, k);
    this.notify(topic.servers(ns));
  }

  upsertAuthorizationPolicy(rec: AuthorizationPolicyRecord): void {
    let m = this.authorizationPolicies.get(rec.namespace);
    if (!m) this.authorizationPolicies.set(rec.namespace, (m = new Map()));
    m.set(rec.name, rec);
    this.notify(topic.policy(rec.namespace));
  }

  deleteAuthorizationPolicy(ns: string, name: string): void {
    const m = this.authorizationPolicies.get(ns);
    if (!m?.delete(name)) return;
    if (m.size === 0) this.authorizationPolicies.delete(ns);
    this.notify(topic.policy(ns));
  }

  upsertServerAuthorization(rec: ServerAuthorizationRecord): void {
    let m = this.serverAuthorizations.get(rec.namespace);
    if (!m) this.serverAuthorizations.set(rec.namespace, (m = new Map()));
    m.set(rec.name, rec);
    this.notify(topic.policy(rec.namespace));
  }

  deleteServerAuthorization(ns: string, name: string): void {
    const m = this.serverAuthorizations.get(ns);
    if (!m?.delete(name)) return;
    if (m.size === 0) this.serverAuthorizations.delete(ns);
    this.notify(topic.policy(ns));
  }

  upsertMeshTLSAuthentication(rec: MeshTLSAuthenticationRecord): void {
    this.meshTLSAuthentications.set(key(rec.namespace, rec.name), rec);
    this.notify(topic.authentications());
  }

  deleteMeshTLSAuthentication(ns: string, name: string): void {
    if (this.meshTLSAuthentications.delete(key(ns, name))) this.notify(topic.authentications());
  }

  upsertNetworkAuthentication(rec: NetworkAuthenticationRecord): void {
    this.networkAuthentications.set(key(rec.namespace, rec.name), rec);
    this.notify(topic.authentications());
  }

  deleteNetworkAuthentication(ns: string, name: string): void {
    if (this.networkAuthentications.delete(key(ns, name))) this.notify(topic.authentications());
  }

  upsertProfile(rec: ProfileRecord): void {
    this.profiles.set(key(rec.namespace, rec.name), rec);
    this.notify(topic.profile(rec.namespace, rec.name));
  }

  deleteProfile(ns: string, name: string): void {
    if (this.profiles.delete(key(ns, name))) this.notify(topic.profile(ns, name));
  }
}
