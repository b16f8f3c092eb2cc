// CNI mode end to end on the kubelet node (upstream kubelet and containerd; needs root): no pod gets the
// privileged linkerd-init, the trellis-cni plugin the runtime chains after the node's bridge writes the redirects
// instead (steps in cni.cases.ts). One node cluster runs per machine: e2e files run one after another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { down } from '@trellis/cluster/src/control-plane.ts';
import { type Cluster } from '../src/kube.ts';
import { Phases, TRELLIS_CLI, loadNodeImages, makeCertificates, startCluster } from '../src/journey.ts';
import {
  demoMeshedWithoutInit,
  installCniPlugin,
  installControlPlaneInCniMode,
  installedPluginRejectsMalformedConfig,
  meshedTrafficIsMtls,
  natTablesAreGolden,
  validatorNamesTheMissingPlugin,
} from './cni.cases.ts';
import { builtImagesCase, cliPortForwardCase, execCase, portForwardWebCase, proxyInitCase, proxyUserCase, vizInClusterCase } from './kubelet-node.cases.ts';

const NODE_WAIT_MS = 15 * 60_000;
const MINUTE = 60_000;
const phases = new Phases((line) => console.log(`[cni] ${line}`));
let dir: string;
let cluster: Cluster;
let certs: string;

beforeAll(async () => {
  dir = await mkdtemp('/tmp/trellis-cni-e2e-');
});

afterAll(async () => {
  if (dir) await down(dir);
  console.log(`[cni] phase durations:\n${phases.summary()}`);
}, 3 * MINUTE);

describe('CNI mode on a kubelet node', () => {
  it('installs trellis-cni with its chart, chained into the node\'s network by the runtime', async () => {
    cluster = await phases.run('kubelet cluster up', () => startCluster(dir, NODE_WAIT_MS, (l) => console.log(`[cni] cluster: ${l}`)));
    const images = await phases.run('images built and loaded', () => loadNodeImages(cluster, (l) => console.log(`[cni] ${l}`)));
    expect(images.some((r) => r.includes('cni-plugin'))).toBe(true);
    certs = await makeCertificates(dir);
    console.log(`[cni] ${await phases.run('trellis-cni installed', () => installCniPlugin(cluster))}`);
  }, NODE_WAIT_MS + 20 * MINUTE);

  it('runs the control plane with cniEnabled: its pods have the network validator, not linkerd-init', async () => {
    const cp = await phases.run('control plane Ready (CNI mode)', () => installControlPlaneInCniMode(cluster, certs));
    expect(cp.length).toBeGreaterThanOrEqual(3);
  }, 8 * MINUTE);

  it('meshes the demo without linkerd-init, with proxy-init\'s golden nat table in every pod and mTLS between them', async () => {
    console.log(`[cni] ${await phases.run('demo meshed without linkerd-init', () => demoMeshedWithoutInit(cluster))}`);
    console.log(`[cni] ${await natTablesAreGolden(cluster)}`);
    console.log(`[cni] ${await phases.run('mTLS web -> voting', () => meshedTrafficIsMtls(cluster))}`);
  }, 10 * MINUTE);

  it('serves kubectl port-forward and exec through the kubelet; control-plane pods run the built images; the proxy runs as uid 2102', async () => {
    await phases.run('kubectl port-forward svc/web-svc', () => portForwardWebCase(cluster));
    await phases.run('kubectl exec', () => execCase(cluster));
    await builtImagesCase(cluster);
    await proxyUserCase(cluster);
    await phases.run('trellis identity, diagnostics endpoints (port-forward)', () => cliPortForwardCase(cluster, TRELLIS_CLI));
  }, 5 * MINUTE);

  it('runs linkerd-init as the injector renders it by default (non-root, no privilege escalation) on containerd', async () => {
    console.log(`[cni] ${await phases.run('linkerd-init on containerd', () => proxyInitCase(cluster, TRELLIS_CLI))}`);
  }, 6 * MINUTE);

  it('installs viz with its own Prometheus in a pod, which scrapes every proxy over mTLS; viz stat answers from it', async () => {
    await phases.run('viz in the cluster: every proxy scraped', () => vizInClusterCase(cluster, TRELLIS_CLI));
  }, 8 * MINUTE);

  it('refuses a malformed plugin configuration by name, and a pod whose plugin is gone fails its validator saying why', async () => {
    console.log(`[cni] ${await installedPluginRejectsMalformedConfig(cluster)}`);
    console.log(`[cni] ${await phases.run('plugin uninstalled: validator fails', () => validatorNamesTheMissingPlugin(cluster))}`);
  }, 6 * MINUTE);
});
