#!/usr/bin/env node
// trellis-demo (run by `npm run demo`, tools/scripts/demo.sh, after it built the bundles): the seeds' journey on a
// single-node cluster, with a line per step and its duration, ending with where to look.
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDuration, runCommand } from '@trellis/config';
import { kubectl, type Cluster } from './kube.ts';
import {
  CONTROL_PLANE,
  DEMO_NS,
  Phases,
  TRELLIS_NS,
  controlPlaneInstalled,
  controlPlaneReady,
  demoMeshed,
  deployDemo,
  installTrellis,
  lookAround,
  makeCertificates,
  meshDemo,
  loadNodeImages,
  startCluster,
} from './journey.ts';

const say = (line: string) => process.stderr.write(`[trellis] ${line}\n`);

await runCommand(
  {
    name: 'trellis-demo',
    summary: 'trellis-demo: Trellis and the emojivoto demo, meshed, on a single-node local cluster (needs root and the built bundles).',
    flags: {
      dir: { type: 'string', description: 'cluster state directory (env TRELLIS_CLUSTER_DIR)', value: 'DIR', default: process.env['TRELLIS_CLUSTER_DIR'] ?? join(tmpdir(), 'trellis-cluster') },
      'node-wait': { type: 'string', description: 'how long to wait for another node cluster on this machine (one per machine) to go down', value: 'DURATION', default: '10m' },
    },
  },
  process.argv.slice(2),
  async (cli) => {
    const dir = resolve(cli.values['dir'] as string);
    const waitMs = parseDuration('--node-wait', cli.values['node-wait'] as string);
    const phases = new Phases(say);
    const cluster: Cluster = await phases.run(`single-node cluster in ${dir}`, () => startCluster(dir, waitMs, (l) => say(`cluster: ${l}`)));
    await phases.run('images: built with buildah, imported into the node\'s containerd', () => loadNodeImages(cluster, say));
    if (await controlPlaneInstalled(cluster)) {
      say('Trellis is already installed (helm release trellis-control-plane)');
    } else {
      const certs = await phases.run('certificates: a trust anchor and an issuer', () => makeCertificates(dir));
      await phases.run('helm install trellis-crds, trellis-control-plane', () => installTrellis(cluster, certs));
    }
    await phases.run(`control plane Ready (${CONTROL_PLANE.join(', ')}, each with its proxy)`, () => controlPlaneReady(cluster, 1, 300_000));
    process.stdout.write(await kubectl(cluster, '-n', TRELLIS_NS, 'get', 'pods'));
    await phases.run(`demo app deployed and Available (namespace ${DEMO_NS})`, () => deployDemo(cluster, 180_000));
    const report = await phases.run(`meshed: kubectl get -n ${DEMO_NS} deploy -o yaml | trellis inject - | kubectl apply -f -`, () => meshDemo(cluster));
    process.stdout.write(report);
    await phases.run('rollout: every demo pod Ready with its proxy', () => demoMeshed(cluster, 300_000));
    process.stdout.write(await kubectl(cluster, '-n', DEMO_NS, 'get', 'pods', '-o', 'wide'));
    say(`done:\n${phases.summary()}`);
    process.stdout.write(await lookAround(cluster));
  },
);
