// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { runComponent } from '@trellis/config/component';
import { metricsApiConfig, METRICS_API_SPEC } from './config.ts';
import { startMetricsApi } from './metrics-api.ts';

await runComponent({ spec: METRICS_API_SPEC, config: metricsApiConfig, start: startMetricsApi, name: 'metrics-api' });
