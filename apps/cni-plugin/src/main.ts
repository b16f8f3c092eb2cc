// Wiring only. Run by the container runtime (CNI_COMMAND set): the request from the environment and stdin, the
// answer on stdout, logs on stderr (stdout belongs to the runtime), exit 1 with an error result when anything
// fails. Run as `trellis-cni install` (the DaemonSet): install the plugin on this node until told to stop.
// `trellis-cni --version` prints the release.
import { ConfigError, VERSION } from '@trellis/config';
import { createLogger } from '@trellis/telemetry';
import { parseCniEnv } from './cni/env.ts';
import { CNI_ERR, CniError, errorResult } from './cni/errors.ts';
import { SUPPORTED_VERSIONS } from './cni/conf.ts';
import { parseInstallerEnv } from './install/config.ts';
import { Installer } from './install/installer.ts';
import { runPlugin } from './plugin.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function plugin(): Promise<void> {
  let cniVersion = '1.0.0';
  try {
    const req = parseCniEnv(process.env);
    const stdin = await readStdin();
    const asked = /"cniVersion"\s*:\s*"([^"]+)"/.exec(stdin)?.[1];
    if (asked && (SUPPORTED_VERSIONS as readonly string[]).includes(asked)) cniVersion = asked;
    const out = await runPlugin(req, stdin, {
      log: (conf) => createLogger({ name: 'trellis-cni', format: 'json', level: conf?.logLevel ?? 'warn', destination: process.stderr }),
    });
    if (out !== '') process.stdout.write(`${out}\n`);
  } catch (err) {
    const cni = err instanceof CniError ? err : new CniError(CNI_ERR.ioFailure, `trellis-cni failed: ${(err as Error).message}`);
    process.stdout.write(`${errorResult(cni, cniVersion)}\n`);
    process.stderr.write(`trellis-cni: ${cni.message}\n`);
    process.exitCode = 1;
  }
}

async function install(): Promise<void> {
  const log = createLogger({ name: 'trellis-cni-installer', format: 'plain', level: 'info' });
  let installer: Installer;
  try {
    installer = new Installer({ ...parseInstallerEnv(process.env), pluginBinary: process.execPath, log });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`trellis-cni install: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string) => {
    log.info(`${signal}: removing the plugin from this node`);
    installer.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'cannot remove the plugin');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => stop(signal));
  await installer.start();
  log.info('installed; watching the CNI configuration');
}

// No top-level await: the single executable runs a CommonJS bundle. The runtime passes no arguments.
if (process.env['CNI_COMMAND']) void plugin();
else if (process.argv[2] === 'install') void install();
else if (process.argv[2] === '--version') process.stdout.write(`${VERSION}\n`);
else void plugin();
