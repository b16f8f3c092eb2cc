// Metrics of the proxy's control-plane clients (identity, destination, policy). Linkerd's families
// (docs/reference/linkerd-contracts.md §9.2): control_request_total, control_response_total and control_response_latency_ms, labelled by
// the configured address and the client TLS labels, counted by a grpc-js interceptor on every call. Ours beside
// them: how many long-lived watches are live or waiting for the control plane, and how often they re-subscribed
// after a failure. Control traffic is a few calls a minute, so prom-client's labelled children are fine here.
import { InterceptingCall, type Interceptor, type StatusObject } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { GRPC_FAILURES, LATENCY_BUCKETS_MS } from '../metrics/proxy-metrics.ts';
import type { ControlAddr } from './env.ts';

/** A control-plane service as its labels name it. */
export interface ControlTarget {
  readonly svcAddr: ControlAddr;
  /** The identity its certificate must carry; unused (no TLS) for a loopback address. */
  readonly svcName: string;
}

/** `watching`: subscribed, waiting for the control plane or its first message; `live`: a message came on this stream. */
export type WatchState = 'watching' | 'live';

/**
 * Why a control client was replaced: its calls were on an address the service's name no longer gives, the name
 * changed while it was connecting, or it could not connect in time.
 */
export type RetireReason = 'peer_left' | 'name_changed' | 'connect_timeout' | 'name_empty' | 'name_back';

/** One long-lived watch's view of the families. */
export interface WatchStats {
  state(s: WatchState | undefined): void;
  reconnected(): void;
}

export interface ControlMetrics {
  /** A grpc-js interceptor that counts every call made through a client to `target`. */
  interceptor(target: ControlTarget): Interceptor;
  /** The stats of one watch of `rpc` (e.g. `io.linkerd.proxy.destination.Destination/Get`) on `target`. */
  watch(target: ControlTarget, rpc: string): WatchStats;
  /** A client to `target` was closed and its calls failed, so that they start again on a new one. */
  retired(target: ControlTarget, reason: RetireReason): void;
}

const LABELS = ['addr', 'tls', 'server_id', 'no_tls_reason'] as const;

/** Linkerd's `addr` label: the address as configured (a trailing dot kept), then the client TLS labels. */
function targetLabels(t: ControlTarget): { addr: string; tls: string; server_id?: string; no_tls_reason?: string } {
  const a = t.svcAddr;
  const addr = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  return a.loopback ? { addr, tls: 'no_identity', no_tls_reason: 'loopback' } : { addr, tls: 'true', server_id: t.svcName };
}

export function controlMetrics(registry: Registry): ControlMetrics {
  const registers = [registry];
  const requests = new Counter({ name: 'control_request_total', help: 'Total count of HTTP requests to the control plane.', labelNames: LABELS, registers });
  const responses = new Counter({
    name: 'control_response_total',
    help: 'Total count of HTTP responses from the control plane.',
    labelNames: [...LABELS, 'status_code', 'classification', 'grpc_status', 'error'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'control_response_latency_ms',
    help: 'Elapsed times between a control-plane request being sent and its first response message (or its status, when none came).',
    labelNames: [...LABELS, 'status_code'] as const,
    buckets: [...LATENCY_BUCKETS_MS],
    registers,
  });
  const watches = new Gauge({ name: 'trellis_control_watches', help: 'Long-lived control-plane watches by state: live (a message came on the current stream) or watching (waiting for the control plane).', labelNames: ['addr', 'rpc', 'state'] as const, registers });
  const reconnects = new Counter({ name: 'trellis_control_watch_reconnects_total', help: 'Control-plane watches re-subscribed after their stream failed, ended or went silent.', labelNames: ['addr', 'rpc'] as const, registers });
  const replaced = new Counter({
    name: 'trellis_control_client_replacements_total',
    help: 'Control-plane clients closed, their calls failed so that they start again on a new client: peer_left (the address they were on left the service name), name_changed (the name changed while connecting), connect_timeout (no connection within the allowance), name_empty (the name gave no address: on to the fallback address), name_back (the name gives addresses again).',
    labelNames: ['addr', 'reason'] as const,
    registers,
  });

  return {
    interceptor(target) {
      const labels = targetLabels(target);
      return (options, nextCall) =>
        new InterceptingCall(nextCall(options), {
          start(metadata, listener, next) {
            requests.inc(labels);
            const t0 = performance.now();
            let statusCode = '';
            let observed = false;
            const observe = () => {
              if (observed) return;
              observed = true;
              latency.observe({ ...labels, status_code: statusCode }, performance.now() - t0);
            };
            next(metadata, {
              onReceiveMetadata(md, nextMd) {
                // grpc-js surfaces response headers only for a 200 with a gRPC content type.
                statusCode = '200';
                nextMd(md);
              },
              onReceiveMessage(msg, nextMsg) {
                observe();
                nextMsg(msg);
              },
              onReceiveStatus(status: StatusObject, nextStatus) {
                observe();
                const failure = GRPC_FAILURES.has(status.code);
                responses.inc({ ...labels, status_code: statusCode, classification: failure ? 'failure' : 'success', grpc_status: String(status.code), error: '' });
                nextStatus(status);
              },
            });
          },
        });
    },
    watch(target, rpc) {
      const { addr } = targetLabels(target);
      let current: WatchState | undefined;
      return {
        state(s) {
          if (s === current) return;
          if (current) watches.dec({ addr, rpc, state: current });
          if (s) watches.inc({ addr, rpc, state: s });
          current = s;
        },
        reconnected() {
          reconnects.inc({ addr, rpc });
        },
      };
    },
    retired(target, reason) {
      replaced.inc({ addr: targetLabels(target).addr, reason });
    },
  };
}
