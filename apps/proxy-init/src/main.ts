// Wiring only: parse the command line, build the logger and runner, write the rules.
import { runCommand } from '@trellis/config';
import { commandRunner, configureFirewall, FirewallError, parseProxyInitConfig, proxyInitCommand, setCloseWaitTimeout, simulate } from '@trellis/iptables';
import { createLogger } from '@trellis/telemetry';

await runCommand(proxyInitCommand, process.argv.slice(2), async (cli) => {
  const config = parseProxyInitConfig(cli.values);
  const log = createLogger({ name: 'proxy-init', format: config.logFormat, level: config.logLevel });
  const deps = { runner: commandRunner(config.netns), log };
  if (config.simulate) {
    simulate(config, deps);
    return;
  }
  try {
    await setCloseWaitTimeout(config, deps);
    await configureFirewall(config, deps);
  } catch (err) {
    if (!(err instanceof FirewallError)) throw err;
    log.error({ code: err.code }, err.message);
    process.stderr.write(`proxy-init: ${err.message}\n`);
    process.exitCode = 1;
  }
});
