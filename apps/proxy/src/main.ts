// Wiring only: parse the command line and environment, start the proxy, drain on SIGTERM/SIGINT or /shutdown. In a
// worker thread (LINKERD2_PROXY_CORES > 1) this same module runs that thread's data path instead.
import { isMainThread } from 'node:worker_threads';
import { runCommand } from '@trellis/config';
import { parseProxyConfig } from './config.ts';
import { createProxyLog } from './log.ts';
import { startProxy } from './proxy.ts';
import { runWorker } from './workers/worker.ts';

if (!isMainThread) await runWorker();
else
  await runCommand(
    {
      name: 'proxy',
      summary: "trellis proxy: the sidecar that carries a meshed pod's traffic (configured by LINKERD2_PROXY_* variables).",
      flags: {
        plaintext: { type: 'boolean', default: false, description: 'run without identity and discovery: plaintext, forward to the original destination' },
      },
    },
    process.argv.slice(2),
    async (cli) => {
      const plaintext = cli.values['plaintext'] === true;
      const cfg = parseProxyConfig(process.env, { plaintext });
      const log = createProxyLog(cfg.log);
      let stopping = false;
      const stop = (why: string) => {
        if (stopping) return;
        stopping = true;
        log.logger.info({ why }, 'draining');
        void proxy.drain().then((clean) => {
          if (!clean) log.logger.warn('Graceful shutdown did not complete within the grace period');
          process.exit(0);
        });
      };
      const workers = {
        entry: new URL(import.meta.url),
        plaintext,
        onFailure: (err: Error) => {
          log.logger.error({ err: err.message }, 'a worker thread failed; the proxy stops');
          process.exit(1);
        },
      };
      const proxy = await startProxy(cfg, { log, env: process.env, onShutdownRequest: () => stop('shutdown endpoint'), workers });
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
  );
