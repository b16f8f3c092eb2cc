// Wiring only: parse the command line, build the parts, start them, stop on SIGTERM.
import { runCommand, TrellisError } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { tapApiConfig, TAP_API_SPEC } from './config.ts';
import { startTapApi, type RunningTapApi } from './tap-api.ts';

await runCommand(TAP_API_SPEC, process.argv.slice(2), async (cli) => {
  const config = tapApiConfig(cli);
  const log = createLogger({ name: 'tap', level: config.logLevel, format: config.logFormat });
  let running: RunningTapApi;
  try {
    running = await startTapApi(config, { log, registry: createRegistry() });
  } catch (err) {
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
