// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { runCommand, TrellisError } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { metricsApiConfig, METRICS_API_SPEC } from './config.ts';
import { startMetricsApi, type RunningMetricsApi } from './metrics-api.ts';

await runCommand(METRICS_API_SPEC, process.argv.slice(2), async (cli) => {
  const config = metricsApiConfig(cli);
  const log = createLogger({ name: 'metrics-api', level: config.logLevel, format: config.logFormat });
  let running: RunningMetricsApi;
  try {
    running = await startMetricsApi(config, { log, registry: createRegistry() });
  } catch (err) {
    // An unreadable kubeconfig and the like: one line naming the problem, exit 1.
    if (!(err instanceof TrellisError)) throw err;
    log.fatal({ code: err.code }, err.message);
    process.exitCode = 1;
    return;
  }
  const stop = () => {
    log.info('shutting down');
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
