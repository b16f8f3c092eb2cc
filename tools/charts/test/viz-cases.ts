// The trellis-viz renders the golden tests compare, shared with the cluster test that applies them.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHARTS, type RenderOptions } from '../src/helm.ts';

export const VIZ_HA = join(CHARTS.viz, 'values-ha.yaml');
export const VIZ_NAMESPACE = 'trellis-viz';
/** A fixed tap APIService (and tap injector) certificate: the chart would otherwise generate one per render. */
export const TAP_TLS = fileURLToPath(new URL('./fixtures/tap-tls.yaml', import.meta.url));

export interface VizCase {
  readonly name: string;
  readonly opts: RenderOptions;
  /** Has objects of CRDs the test cluster does not have (the Prometheus Operator's PodMonitor). */
  readonly operatorObjects?: boolean;
}

export const VIZ_CASES: readonly VizCase[] = [
  { name: 'viz-default', opts: { namespace: VIZ_NAMESPACE, values: [TAP_TLS] } },
  // The dashboards' ConfigMaps are large and the same in every case: only the default render carries them.
  { name: 'viz-ha', opts: { namespace: VIZ_NAMESPACE, values: [TAP_TLS, VIZ_HA], set: { 'grafana.dashboards': 'false' } } },
  {
    name: 'viz-external-prometheus',
    opts: {
      namespace: VIZ_NAMESPACE,
      values: [TAP_TLS],
      set: { prometheusUrl: 'http://prometheus.monitoring.svc.cluster.local:9090', 'podMonitor.enabled': 'true', 'metricsAPI.allowedNetworks': '{10.96.0.1/32}', installNamespace: 'false', 'grafana.dashboards': 'false' },
    },
    operatorObjects: true,
  },
  // Jaeger as the mesh's trace collector (off by default).
  { name: 'viz-jaeger', opts: { namespace: VIZ_NAMESPACE, values: [TAP_TLS], set: { 'jaeger.enabled': 'true', 'grafana.dashboards': 'false' } } },
];
