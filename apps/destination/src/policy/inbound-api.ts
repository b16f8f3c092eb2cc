// io.linkerd.proxy.inbound.InboundServerPolicies: GetPort answers once, WatchPort streams the policy of
// a pod port and sends it again whenever the pod, its namespace or the namespace's Servers change.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { inbound } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { topic } from '../index/cluster-index.ts';
import { grpcStatus } from '../api/grpc-status.ts';
import { serveUpdates, type StreamDeps } from '../api/update-stream.ts';
import { inboundServer } from './inbound.ts';
import { parseWorkload } from './workload.ts';

function parseSpec(spec: inbound.PortSpec): { ns: string; pod: string; port: number } {
  const w = parseWorkload(spec.workload);
  if (!w.pod) throw new NotFoundError(`external workload ${w.ns}/${w.externalWorkload ?? ''} is not supported`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) throw new InvalidRequestError(`invalid port ${spec.port}: expected 1..65535`);
  return { ns: w.ns, pod: w.pod, port: spec.port };
}

export function inboundApi(cfg: DestinationConfig, deps: StreamDeps): inbound.InboundServerPoliciesServer {
  const { index } = deps;
  const lookup = (ns: string, name: string, port: number) => {
    const pod = index.pod(ns, name);
    if (!pod) throw new NotFoundError(`pod ${ns}/${name} not found`);
    return inboundServer(cfg, index, pod, port);
  };
  return {
    getPort(call: ServerUnaryCall<inbound.PortSpec, inbound.Server>, callback: sendUnaryData<inbound.Server>) {
      try {
        const { ns, pod, port } = parseSpec(call.request);
        callback(null, lookup(ns, pod, port));
      } catch (err) {
        callback(grpcStatus(err));
      }
    },
    watchPort(call: ServerWritableStream<inbound.PortSpec, inbound.Server>) {
      let spec;
      try {
        spec = parseSpec(call.request);
        lookup(spec.ns, spec.pod, spec.port);
      } catch (err) {
        call.emit('error', grpcStatus(err));
        return;
      }
      const { ns, pod, port } = spec;
      let last = '';
      serveUpdates(deps, call, {
        api: 'inbound.WatchPort',
        topics: [topic.pod(ns, pod), topic.namespace(ns), topic.servers(ns), topic.policy(ns), topic.authentications()],
        onOverflow: () => deps.metrics.policyQueueOverflow.inc({ api: 'inbound.WatchPort' }),
        compute: () => {
          const p = index.pod(ns, pod);
          // A deleted pod keeps its last policy; the proxy goes away with it.
          if (!p) return [];
          const server = inboundServer(cfg, index, p, port);
          const fp = Buffer.from(inbound.Server.encode(server).finish()).toString('base64');
          if (fp === last) return [];
          last = fp;
          return [server];
        },
      });
    },
  };
}
