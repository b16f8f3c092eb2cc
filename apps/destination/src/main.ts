// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { ConfigError, runCommand } from '@trellis/config';
import { KubeConfigError, loadKubeConfig } from '@trellis/k8s';
import { createLogger, tuneHeap } from '@trellis/telemetry';
import { startDestination } from './app.ts';
import { buildConfig, COMMAND } from './config.ts';

tuneHeap();

await runCommand(COMMAND, process.argv.slice(2), async ({ values }) => {
  const cfg = buildConfig(values);
  const logger = createLogger({ name: 'destination', level: cfg.logLevel, format: cfg.logFormat });
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: cfg.kubeconfig });
  } catch (err) {
    throw err instanceof KubeConfigError ? new ConfigError(`--kubeconfig: ${err.message}`) : err;
  }
  const app = await startDestination(cfg, { kubeConfig, logger });
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: ending streams');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
});
// A start that failed has printed its error: exit even if a library still holds a handle open.
if (process.exitCode !== undefined && process.exitCode !== 0) process.exit();
