// The installer against real directories standing in for the host's /etc/cni/net.d and /opt/cni/bin.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@trellis/telemetry';
import { readKubeconfig } from '../kube/kubeconfig.ts';
import { Installer } from './installer.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const quiet = createLogger({ name: 'test', format: 'json', level: 'error', destination: new Writable({ write: (_c, _e, done) => done() }) });
const primary = { cniVersion: '1.0.0', name: 'trellis', plugins: [{ type: 'bridge', bridge: 'trellis0' }] };

async function node() {
  const root = await mkdtemp(join(tmpdir(), 'trellis-cni-install-'));
  dirs.push(root);
  const conf = join(root, 'etc/cni/net.d');
  const bin = join(root, 'opt/cni/bin');
  const sa = join(root, 'sa');
  await Promise.all([mkdir(conf, { recursive: true }), mkdir(bin, { recursive: true }), mkdir(sa)]);
  await writeFile(join(sa, 'token'), 'token-1\n');
  await writeFile(join(sa, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const plugin = join(root, 'trellis-cni-image-copy');
  await writeFile(plugin, '#!/bin/sh\n');
  await writeFile(join(conf, '10-trellis.conflist'), JSON.stringify(primary));
  const installer = new Installer({
    hostConfDir: conf,
    destConfDir: '/etc/cni/net.d',
    hostBinDir: bin,
    pluginBinary: plugin,
    kubeconfigName: 'ZZZ-trellis-cni-kubeconfig',
    kubeconfigMode: 0o600,
    networkConfig: '{"name":"trellis-cni","type":"trellis-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}',
    serviceAccountDir: sa,
    apiHost: '10.96.0.1',
    apiPort: '443',
    skipTlsVerify: false,
    log: quiet,
  });
  return { conf, bin, sa, installer };
}

const types = async (file: string) => (JSON.parse(await readFile(file, 'utf8')) as typeof primary).plugins.map((p) => p.type);
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 10s: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the installer on a node', () => {
  it('copies the plugin, writes a kubeconfig the plugin reads, and chains every config', async () => {
    const n = await node();
    await n.installer.start();
    try {
      expect((await stat(join(n.bin, 'trellis-cni'))).mode & 0o777).toBe(0o755);
      const kubeconfig = join(n.conf, 'ZZZ-trellis-cni-kubeconfig');
      expect((await stat(kubeconfig)).mode & 0o777).toBe(0o600);
      const access = await readKubeconfig(kubeconfig);
      expect([access.server.href, access.token, access.ca?.toString()]).toEqual(['https://10.96.0.1/', 'token-1', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n']);
      expect(await types(join(n.conf, '10-trellis.conflist'))).toEqual(['bridge', 'trellis-cni']);
    } finally {
      await n.installer.stop();
    }
  });

  it('chains a config the primary network rewrites, and follows a rotated token', async () => {
    const n = await node();
    await n.installer.start();
    try {
      await writeFile(join(n.conf, '10-trellis.conflist'), JSON.stringify(primary));
      await writeFile(join(n.conf, '05-other.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'other', type: 'ptp' }));
      await eventually(async () => existsSync(join(n.conf, '10-trellis.conflist')) && (await types(join(n.conf, '10-trellis.conflist'))).includes('trellis-cni'), 'rewritten conflist chained again');
      await eventually(async () => existsSync(join(n.conf, '05-other.conflist')) && !existsSync(join(n.conf, '05-other.conf')), '.conf turned into a chained .conflist');
      expect(await types(join(n.conf, '05-other.conflist'))).toEqual(['ptp', 'trellis-cni']);
      await writeFile(join(n.sa, 'token'), 'token-2\n');
      await eventually(async () => (await readKubeconfig(join(n.conf, 'ZZZ-trellis-cni-kubeconfig'))).token === 'token-2', 'kubeconfig with the new token');
    } finally {
      await n.installer.stop();
    }
  });

  it('takes the plugin out of every config and removes its files when stopped', async () => {
    const n = await node();
    await n.installer.start();
    await n.installer.stop();
    expect(JSON.parse(await readFile(join(n.conf, '10-trellis.conflist'), 'utf8'))).toEqual(primary);
    expect(existsSync(join(n.conf, 'ZZZ-trellis-cni-kubeconfig'))).toBe(false);
    expect(existsSync(join(n.bin, 'trellis-cni'))).toBe(false);
  });
});
