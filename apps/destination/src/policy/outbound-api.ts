// io.linkerd.proxy.outbound.OutboundPolicies: the policy for a target given as a service authority or
// as the original destination address. Get answers once; Watch streams changes.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { ipAddressToString, outbound, type net } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import { AmbiguousTargetError, InvalidRequestError, NotFoundError } from '../errors.ts';
import { topic, type ClusterIndex } from '../index/cluster-index.ts';
import { parseHostPort } from '../discovery/authority.ts';
import { grpcStatus } from '../api/grpc-status.ts';
import { serveUpdates, type StreamDeps } from '../api/update-stream.ts';
import { inAnyCidr } from './networks.ts';
import { egressFallbackPolicy, servicePolicy, undefinedPortPolicy } from './outbound.ts';
import { workloadNamespace } from './workload.ts';

type Resolved = { readonly topics: string[]; readonly compute: () => outbound.OutboundPolicy };

function resolve(cfg: DestinationConfig, index: ClusterIndex, spec: outbound.TrafficSpec): Resolved {
  const target = spec.target;
  // Routes in the client's own namespace (consumer routes) apply to it alone.
  const sourceNs = workloadNamespace(spec.sourceWorkload);
  if (!target) throw new InvalidRequestError('TrafficSpec has no target');
  if (target.$case === 'authority') {
    const { host, port } = parseHostPort(target.value);
    let h = host.toLowerCase().replace(/\.$/, '');
    const suffix = `.${cfg.clusterDomain}`;
    if (h.endsWith(suffix)) h = h.slice(0, -suffix.length);
    const labels = h.split('.');
    if (labels.length !== 3 || labels[2] !== 'svc' || !labels[0] || !labels[1]) throw new NotFoundError(`${JSON.stringify(target.value)} is not a service authority <name>.<ns>.svc`);
    const [name, ns] = labels as [string, string];
    if (!index.service(ns, name)) throw new NotFoundError(`Service ${name}.${ns} not found`);
    return { topics: [topic.service(ns, name)], compute: () => policyFor(cfg, index, ns, name, port, sourceNs) };
  }
  const addr: net.TcpAddress = target.value;
  if (!addr.ip) throw new InvalidRequestError('TrafficSpec.addr has no ip');
  const ip = ipAddressToString(addr.ip);
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) throw new InvalidRequestError(`invalid port ${addr.port}: expected 1..65535`);
  const services = index.servicesWithIP(ip);
  if (services.length > 1) throw new AmbiguousTargetError(`cluster IP ${ip} belongs to ${services.length} Services`);
  const svc = services[0];
  if (svc) return { topics: [topic.service(svc.namespace, svc.name)], compute: () => policyFor(cfg, index, svc.namespace, svc.name, addr.port, sourceNs) };
  if (inAnyCidr(ip, cfg.clusterNetworks)) throw new NotFoundError(`${ip} is not a Service cluster IP`);
  return { topics: [], compute: () => egressFallbackPolicy(addr) };
}

function policyFor(cfg: DestinationConfig, index: ClusterIndex, ns: string, name: string, port: number, sourceNs: string | undefined): outbound.OutboundPolicy {
  const svc = index.service(ns, name);
  if (!svc) throw new NotFoundError(`Service ${name}.${ns} not found`);
  return svc.ports.some((p) => p.port === port) ? servicePolicy(cfg, index, svc, port, sourceNs) : undefinedPortPolicy(svc, port);
}

export function outboundApi(cfg: DestinationConfig, deps: StreamDeps): outbound.OutboundPoliciesServer {
  const { index } = deps;
  return {
    get(call: ServerUnaryCall<outbound.TrafficSpec, outbound.OutboundPolicy>, callback: sendUnaryData<outbound.OutboundPolicy>) {
      try {
        callback(null, resolve(cfg, index, call.request).compute());
      } catch (err) {
        callback(grpcStatus(err));
      }
    },
    watch(call: ServerWritableStream<outbound.TrafficSpec, outbound.OutboundPolicy>) {
      let resolved: Resolved;
      try {
        resolved = resolve(cfg, index, call.request);
        resolved.compute();
      } catch (err) {
        call.emit('error', grpcStatus(err));
        return;
      }
      let last = '';
      serveUpdates(deps, call, {
        api: 'outbound.Watch',
        topics: resolved.topics,
        onOverflow: () => deps.metrics.policyQueueOverflow.inc({ api: 'outbound.Watch' }),
        compute: () => {
          // A Service deleted under a watch keeps its last policy; the proxy's Get stream empties.
          let policy: outbound.OutboundPolicy;
          try {
            policy = resolved.compute();
          } catch (err) {
            if (err instanceof NotFoundError) return [];
            throw err;
          }
          const fp = Buffer.from(outbound.OutboundPolicy.encode(policy).finish()).toString('base64');
          if (fp === last) return [];
          last = fp;
          return [policy];
        },
      });
    },
  };
}
