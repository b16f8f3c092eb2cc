// The destination's metrics on its own prom-client registry. Names follow Linkerd's destination where
// it has one (endpoint_updates_queue_overflow, profile_updates_queue_overflow, <kind>_cache_size).
import { createRegistry, type Registry } from '@trellis/telemetry';
import { Counter, Gauge, Histogram } from 'prom-client';

export type Api = 'destination.Get' | 'destination.GetProfile' | 'inbound.WatchPort' | 'outbound.Watch';

export interface Metrics {
  readonly registry: Registry;
  readonly openStreams: Gauge<'api'>;
  readonly updatesSent: Counter<'api'>;
  /** From an index change (a watch event applied) to the stream's update written (Trellis's own; Linkerd has none). */
  readonly updateLatency: Histogram<'api'>;
  readonly endpointQueueOverflow: Counter<'service'>;
  readonly profileQueueOverflow: Counter<'fqn' | 'port'>;
  readonly policyQueueOverflow: Counter<'api'>;
}

export interface MetricsSources {
  /** Index sizes by kind (service, endpointslice, pod, ...). */
  sizes(): Record<string, number>;
  /** Watch restarts by collection path. */
  watchRestarts(): Record<string, number>;
}

export function createMetrics(sources: MetricsSources, opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = createRegistry({ processMetrics: opts.defaultMetrics !== false });
  for (const kind of Object.keys(sources.sizes())) {
    new Gauge({
      name: `${kind}_cache_size`,
      help: `Number of ${kind} records held by the index.`,
      registers: [registry],
      collect() {
        this.set(sources.sizes()[kind] ?? 0);
      },
    });
  }
  new Gauge({
    name: 'k8s_watch_restarts',
    help: 'Times a Kubernetes watch was restarted after an error or a silent period.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      for (const [resource, n] of Object.entries(sources.watchRestarts())) this.set({ resource }, n);
    },
  });
  return {
    registry,
    openStreams: new Gauge({ name: 'destination_open_streams', help: 'Open API streams.', labelNames: ['api'], registers: [registry] }),
    updatesSent: new Counter({ name: 'destination_updates_sent_total', help: 'Messages sent on API streams.', labelNames: ['api'], registers: [registry] }),
    updateLatency: new Histogram({
      name: 'destination_update_latency_seconds',
      help: 'Time from an index change (a Kubernetes watch event applied) to the resulting update written to a stream.',
      labelNames: ['api'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    endpointQueueOverflow: new Counter({
      name: 'endpoint_updates_queue_overflow',
      help: 'Get streams ended because their update queue overflowed.',
      labelNames: ['service'],
      registers: [registry],
    }),
    profileQueueOverflow: new Counter({
      name: 'profile_updates_queue_overflow',
      help: 'GetProfile streams ended because their update queue overflowed.',
      labelNames: ['fqn', 'port'],
      registers: [registry],
    }),
    policyQueueOverflow: new Counter({
      name: 'policy_updates_queue_overflow',
      help: 'Policy watch streams ended because their update queue overflowed.',
      labelNames: ['api'],
      registers: [registry],
    }),
  };
}
