// trellis-node-agent: the node agent of the local cluster (started by `trellis-cluster up --node`).
import { join, resolve } from 'node:path';
import { chmod, mkdir } from 'node:fs/promises';
import { pino } from 'pino';
import { ConfigError, runCommand } from '@trellis/config';
import { readState } from '../control-plane.ts';
import { REPO_ROOT } from '../tools.ts';
import { Kube } from './kube.ts';
import { NodeAgent } from './agent.ts';
import { startLogServer } from './log-server.ts';
import { GATEWAY_IP } from './network.ts';

await runCommand(
  {
    name: 'trellis-node-agent',
    summary: 'trellis-node-agent: runs the pods bound to this node as processes in network namespaces.',
    flags: { dir: { type: 'string', description: 'cluster state directory', value: 'DIR', default: '' } },
  },
  process.argv.slice(2),
  async ({ values }) => {
    const dir = resolve(String(values['dir']));
    const state = await readState(dir);
    if (!values['dir'] || !state) throw new ConfigError(`--dir ${JSON.stringify(values['dir'])}: no cluster state there`);
    const log = pino({ base: { component: 'node-agent' } });
    const kube = new Kube({ server: state.server, caCert: state.certs.caCert, clientCert: state.certs.adminCert, clientKey: state.certs.adminKey });
    const podsDir = join(dir, 'pods');
    await mkdir(podsDir, { recursive: true });
    // Containers may run as other users: they must be able to reach their volumes under the cluster directory.
    await chmod(dir, 0o755);
    await chmod(podsDir, 0o755);
    const logs = await startLogServer({ podsDir, host: GATEWAY_IP, caCert: state.certs.caCert, cert: join(dir, 'node-agent.crt'), key: join(dir, 'node-agent.key') });
    const agent = new NodeAgent({ kube, log, podsDir, repoRoot: REPO_ROOT, node: process.execPath, kubeletPort: logs.port });
    await agent.register();
    log.info('node registered; watching pods');
    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping pods');
      await agent.stop(5000);
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    await agent.run();
  },
);
