#!/usr/bin/env node
// trellis-cluster: the local Kubernetes control plane for tests and the demo.
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, parseDuration, runCommand } from '@trellis/config';
import { down, startApiServerAgain, status, stopApiServer, up } from './control-plane.ts';
import { podLogs } from './logs.ts';

const COMMANDS = ['up', 'down', 'status', 'kubeconfig', 'stop-apiserver', 'start-apiserver', 'logs'] as const;

await runCommand(
  {
    name: 'trellis-cluster',
    summary: 'trellis-cluster: a local Kubernetes control plane (etcd + kube-apiserver) on loopback.',
    allowPositionals: true,
    flags: {
      dir: { type: 'string', description: 'state directory (env TRELLIS_CLUSTER_DIR)', value: 'DIR', default: process.env['TRELLIS_CLUSTER_DIR'] ?? join(tmpdir(), 'trellis-cluster') },
      controllers: { type: 'boolean', description: 'also run kube-controller-manager', default: true },
      node: { type: 'boolean', description: 'up: a whole Kubernetes (scheduler, kube-proxy, CoreDNS, the kubelet with containerd running pods; needs root)', default: false },
      nodes: { type: 'string', description: 'up --node: how many nodes (trellis-node on the host, trellis-node-2, ... each in its own network namespace with its own containerd, kubelet and kube-proxy)', value: 'N', default: '1' },
      'node-wait': { type: 'string', description: 'up --node: how long to wait for another node cluster on this machine to go down', value: 'DURATION', default: '0' },
      container: { type: 'string', short: 'c', description: 'logs: the container (needed when the pod has several)', value: 'NAME', default: '' },
      namespace: { type: 'string', short: 'n', description: 'logs: the pod\'s namespace', value: 'NS', default: 'default' },
    },
    epilog: `Commands:\n  ${COMMANDS.join(' | ')}   (logs POD [-c CONTAINER] [-n NAMESPACE])\n\nUse the cluster with: export KUBECONFIG=$(trellis-cluster kubeconfig)`,
  },
  process.argv.slice(2),
  async (cli) => {
    try {
      await main(cli.values, cli.positionals);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // A failed start or stop is reported as one line (the message names the component and its log), not a stack.
      process.stderr.write(`trellis-cluster: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  },
);

async function main(values: Readonly<Record<string, unknown>>, positionals: readonly string[]): Promise<void> {
  const dir = resolve(values['dir'] as string);
  const [command, ...rest] = positionals;
  if (command === 'logs') {
    if (rest.length !== 1) throw new ConfigError(`logs takes one pod name, got ${JSON.stringify(rest.join(' '))}`);
    process.stdout.write(await podLogs(dir, values['namespace'] as string, rest[0]!, (values['container'] as string) || undefined));
    return;
  }
  if (!command || !(COMMANDS as readonly string[]).includes(command) || rest.length > 0) {
    throw new ConfigError(`expected one command of ${COMMANDS.join(', ')}, got ${JSON.stringify(positionals.join(' '))}`);
  }
  const t0 = Date.now();
  switch (command) {
    case 'up': {
      const nodeWaitMs = parseDuration('--node-wait', values['node-wait'] as string);
      const nodes = Number(values['nodes']);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) throw new ConfigError(`--nodes: expected a whole number from 1 to 8, got ${JSON.stringify(values['nodes'])}`);
      if (nodes > 1 && !values['node']) throw new ConfigError('--nodes needs --node');
      const state = await up(dir, { controllers: values['controllers'] as boolean, node: values['node'] as boolean, nodes, nodeWaitMs, log: (l) => process.stderr.write(`trellis-cluster: ${l}\n`) });
      process.stderr.write(`trellis-cluster: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`API server: ${state.server}\nkubeconfig: ${state.kubeconfig}\nexport KUBECONFIG=${state.kubeconfig}\n`);
      return;
    }
    case 'down': {
      const n = await down(dir);
      process.stdout.write(`stopped ${n} process(es); removed ${dir}\n`);
      return;
    }
    case 'status': {
      const s = await status(dir);
      if (!s) {
        process.stdout.write(`no cluster in ${dir}\n`);
        process.exitCode = 3;
        return;
      }
      for (const c of s.components) process.stdout.write(`${c.name.padEnd(24)} pid ${String(c.pid).padEnd(8)} ${c.running ? 'running' : 'stopped'}\n`);
      process.stdout.write(`API server ${s.state.server}: ${s.ready ? 'ready' : 'not ready'}\n`);
      process.exitCode = s.ready ? 0 : 3;
      return;
    }
    case 'kubeconfig': {
      const s = await status(dir);
      if (!s) throw new ConfigError(`no cluster in ${dir} (run trellis-cluster up first)`);
      process.stdout.write(`${s.state.kubeconfig}\n`);
      return;
    }
    case 'stop-apiserver':
      return stopApiServer(dir);
    case 'start-apiserver':
      return startApiServerAgain(dir);
  }
}
