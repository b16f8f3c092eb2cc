// Wiring only: parse the command line, build the parts, start them, drain on SIGTERM.
import { runCommand, TrellisError } from '@trellis/config';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { webConfig, WEB_SPEC } from './config.ts';
import { startWeb, type RunningWeb } from './web.ts';

await runCommand(WEB_SPEC, process.argv.slice(2), async (cli) => {
  const config = webConfig(cli);
  const log = createLogger({ name: 'web', level: config.logLevel, format: config.logFormat });
  let running: RunningWeb;
  try {
    running = await startWeb(config, { log, registry: createRegistry() });
  } catch (err) {
    // Missing assets and the like: one line naming the problem, exit 1.
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
