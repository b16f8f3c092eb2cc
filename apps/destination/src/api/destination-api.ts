// The Destination API (io.linkerd.proxy.destination.Destination): Get streams endpoint diffs for a
// Service, GetProfile streams the DestinationProfile of a Service, a cluster IP, a pod IP or a
// StatefulSet instance. Both answer the first message right away and then only on change.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { destination, type net } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import { AmbiguousTargetError, InvalidRequestError, NotFoundError } from '../errors.ts';
import { topic } from '../index/cluster-index.ts';
import type { PodRecord, ProfileRecord } from '../index/model.ts';
import { parseContextToken, parseHostPort, parseTarget, serviceName } from '../discovery/authority.ts';
import { selectEndpointInputs } from '../discovery/endpoints.ts';
import { DEFAULT_RETRY_BUDGET, emptyProfile, serviceFqn, serviceProfile } from '../discovery/profile.ts';
import { isOpaquePort, weightedAddr, type EndpointInput } from '../discovery/weighted-addr.ts';
import { grpcStatus } from './grpc-status.ts';
import { serveUpdates, type StreamDeps } from './update-stream.ts';

type Call<T> = ServerWritableStream<destination.GetDestination, T>;

function reject(call: Call<unknown>, err: unknown): void {
  call.emit('error', grpcStatus(err));
}

const fingerprint = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Same WeightedAddr inputs: records are replaced, never mutated, so the same pod object means the same pod. */
const sameInput = (a: EndpointInput, b: EndpointInput) => a.pod === b.pod && a.zone === b.zone && a.clientZone === b.clientZone && a.ip === b.ip && a.port === b.port;

export function destinationApi(cfg: DestinationConfig, deps: StreamDeps): destination.DestinationServer {
  const { index, logger } = deps;

  function get(call: Call<destination.Update>): void {
    let target;
    try {
      target = parseTarget(call.request.path, cfg.clusterDomain);
      if (target.kind === 'ip') throw new InvalidRequestError('IP queries not supported by Get API');
      if (!index.service(target.namespace, target.name)) throw new NotFoundError(`Service ${target.name}.${target.namespace} not found`);
    } catch (err) {
      reject(call, err);
      return;
    }
    const { namespace, name, port, instance } = target;
    const token = parseContextToken(call.request.contextToken);
    // Per address: what was last sent (its encoding) and the inputs it was built from. An endpoint whose
    // inputs are the same objects as last time is not rebuilt or re-encoded: one write usually changes one
    // endpoint of many.
    interface Sent {
      fp: string;
      addr: net.TcpAddress | undefined;
      input: EndpointInput;
      serversVersion: number;
    }
    const sent = new Map<string, Sent>();
    const setLabels = { namespace, service: name };
    serveUpdates(deps, call, {
      api: 'destination.Get',
      topics: [topic.service(namespace, name), topic.servers(namespace), ...(token.nodeName ? [topic.node(token.nodeName)] : [])],
      onOverflow: () => deps.metrics.endpointQueueOverflow.inc({ service: `${name}.${namespace}` }),
      compute: () => {
        const now = selectEndpointInputs(cfg, index, { namespace, name, port, instance, clientNode: token.nodeName }) ?? new Map<string, EndpointInput>();
        const serversVersion = index.serversVersion;
        const adds: destination.WeightedAddr[] = [];
        for (const [k, input] of now) {
          const prev = sent.get(k);
          if (prev && prev.serversVersion === serversVersion && sameInput(prev.input, input)) continue;
          const w = weightedAddr(cfg, index, input);
          const fp = fingerprint(destination.WeightedAddr.encode(w).finish());
          sent.set(k, { fp, addr: w.addr, input, serversVersion });
          if (prev?.fp !== fp) adds.push(w);
        }
        const removed: net.TcpAddress[] = [];
        for (const [k, v] of sent) {
          if (now.has(k)) continue;
          sent.delete(k);
          if (v.addr) removed.push(v.addr);
        }
        const out: destination.Update[] = [];
        if (adds.length > 0) out.push({ update: { $case: 'add', value: { addrs: adds, metricLabels: setLabels } } });
        if (removed.length > 0) out.push({ update: { $case: 'remove', value: { addrs: removed } } });
        return out;
      },
    });
  }

  /** A pod by IP: a running pod with that IP, else a hostNetwork pod on that node IP exposing the port. */
  function podByIP(ip: string, port: number): PodRecord | undefined {
    const pods = index.podsWithIP(ip).filter((p) => p.running);
    return pods.find((p) => !p.hostNetwork) ?? pods.find((p) => p.hostNetwork && p.containerPorts.some((c) => c.hostPort === port));
  }

  function endpointProfile(ip: string, port: number, pod: PodRecord | undefined): destination.DestinationProfile {
    const profile: destination.DestinationProfile = { ...emptyProfile(), retryBudget: DEFAULT_RETRY_BUDGET };
    if (!pod) {
      profile.opaqueProtocol = cfg.defaultOpaquePorts.some((r) => port >= r.from && port <= r.to);
      profile.endpoint = { ...weightedAddr(cfg, index, { ip, port, pod: undefined, zone: undefined, clientZone: '' }), metricLabels: {} };
      return profile;
    }
    const w = weightedAddr(cfg, index, { ip, port, pod, zone: index.nodeZone(pod.nodeName) || undefined, clientZone: '' });
    w.metricLabels = { ...w.metricLabels, namespace: pod.namespace };
    profile.endpoint = w;
    profile.opaqueProtocol = isOpaquePort(cfg, index, pod, port);
    return profile;
  }

  function getProfile(call: Call<destination.DestinationProfile>): void {
    const token = parseContextToken(call.request.contextToken);
    let compute: () => destination.DestinationProfile;
    let topics: string[];
    let overflowLabels: { fqn: string; port: string };
    try {
      const { host, port } = parseHostPort(call.request.path);
      const named = serviceName(host, cfg.clusterDomain);
      const services = named ? [] : index.servicesWithIP(host);
      if (!named && parseTarget(call.request.path, cfg.clusterDomain).kind !== 'ip') {
        throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(call.request.path)}`);
      }
      if (services.length > 1) {
        throw new AmbiguousTargetError(`cluster IP ${host} belongs to ${services.length} Services: ${services.map((s) => `${s.name}.${s.namespace}`).join(', ')}`);
      }
      const svc = named ? { namespace: named.namespace, name: named.name } : services[0];
      if (named && !index.service(named.namespace, named.name)) throw new NotFoundError(`Service ${named.name}.${named.namespace} not found`);
      overflowLabels = { fqn: svc ? serviceFqn(cfg, svc) : host, port: String(port) };
      if (named?.instance !== undefined) {
        const { namespace, name, instance } = named;
        topics = [topic.service(namespace, name)];
        compute = () => {
          for (const slice of index.slicesOf(namespace, name)) {
            const e = slice.endpoints.find((x) => (x.hostname ?? x.podName) === instance);
            const ip = e?.addresses[0];
            if (!e || !ip) continue;
            const pod = e.podName ? index.pod(namespace, e.podName) : undefined;
            return endpointProfile(ip, port, pod?.running ? pod : undefined);
          }
          return emptyProfile();
        };
      } else if (svc) {
        const fqn = serviceFqn(cfg, svc);
        const lookups = [...new Set([token.ns, svc.namespace].filter((n): n is string => !!n))];
        topics = [topic.service(svc.namespace, svc.name), ...lookups.map((n) => topic.profile(n, fqn))];
        const invalid = (err: Error, sp: ProfileRecord) => logger.warn({ err: err.message, serviceProfile: `${sp.namespace}/${sp.name}` }, 'ServiceProfile cannot be translated; serving the default profile');
        compute = () => {
          const current = index.service(svc.namespace, svc.name);
          if (!current) return emptyProfile();
          const sp = lookups.map((n) => index.profile(n, fqn)).find((p) => p !== undefined);
          return serviceProfile(cfg, current, port, sp, invalid);
        };
      } else {
        topics = [topic.ip(host)];
        compute = () => endpointProfile(host, port, podByIP(host, port));
      }
    } catch (err) {
      reject(call, err);
      return;
    }
    let last = '';
    serveUpdates(deps, call, {
      api: 'destination.GetProfile',
      topics,
      onOverflow: () => deps.metrics.profileQueueOverflow.inc(overflowLabels),
      compute: () => {
        const profile = compute();
        const fp = fingerprint(destination.DestinationProfile.encode(profile).finish());
        if (fp === last) return [];
        last = fp;
        return [profile];
      },
    });
  }

  return { get, getProfile };
}
