// `trellis-cni install`, the DaemonSet's command, as the single executable the image ships: started with the
// environment the chart gives it and the node's directories under a mount prefix, it copies itself and chains the
// conflist entry; SIGTERM (the pod stopping on uninstall) takes everything out again and exits 0. A bad setting
// stops it at start, naming the variable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginExecutable } from '../scripts/sea.ts';
import { execPlugin } from './runtime.ts';

let work = '';
let binary = '';
const primary = { cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'bridge', bridge: 'cni0' }] };
const ENTRY = '{"name":"trellis-cni","type":"trellis-cni","log_level":"info","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"},"linkerd":{"incoming-proxy-port":4143}}';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'trellis-cni-installer-'));
  binary = await buildPluginExecutable(join(work, 'image/opt/cni/bin/trellis-cni'));
}, 180_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function node(name: string) {
  const host = join(work, name);
  await mkdir(join(host, 'etc/cni/net.d'), { recursive: true });
  await mkdir(join(host, 'opt/cni/bin'), { recursive: true });
  await mkdir(join(host, 'sa'), { recursive: true });
  await writeFile(join(host, 'sa/token'), 'token-1');
  await writeFile(join(host, 'sa/ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  await writeFile(join(host, 'etc/cni/net.d/10-k8s.conflist'), JSON.stringify(primary));
  return host;
}

const env = (host: string, extra: Record<string, string> = {}) => ({
  CONTAINER_MOUNT_PREFIX: host,
  SERVICEACCOUNT_PATH: join(host, 'sa'),
  DEST_CNI_NET_DIR: '/etc/cni/net.d',
  DEST_CNI_BIN_DIR: '/opt/cni/bin',
  CNI_NETWORK_CONFIG: ENTRY,
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  ...extra,
});

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 20s: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('trellis-cni install', () => {
  it('installs itself on the node, and uninstalls on SIGTERM', async () => {
    const host = await node('node-a');
    const conflist = join(host, 'etc/cni/net.d/10-k8s.conflist');
    let child: ChildProcess | undefined;
    try {
      child = spawn(binary, ['install'], { env: env(host), stdio: ['ignore', 'pipe', 'pipe'] });
      let logs = '';
      child.stdout?.on('data', (b: Buffer) => (logs += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
      await eventually('the conflist chained', async () => (await readFile(conflist, 'utf8')).includes('"trellis-cni"'));
      const doc = JSON.parse(await readFile(conflist, 'utf8')) as { plugins: { type: string; kubernetes?: { kubeconfig: string } }[] };
      expect(doc.plugins.map((p) => p.type)).toEqual(['bridge', 'trellis-cni']);
      expect(doc.plugins[1]?.kubernetes?.kubeconfig).toBe('/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig');
      expect(await readFile(join(host, 'etc/cni/net.d/ZZZ-trellis-cni-kubeconfig'), 'utf8')).toContain('token: token-1');
      // The copy on the node is the plugin the runtime will exec.
      const version = await execPlugin(join(host, 'opt/cni/bin/trellis-cni'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
      expect(version.stdout).toContain('"supportedVersions"');

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code, logs).toBe(0);
      expect(logs).toContain('SIGTERM: removing the plugin from this node');
      expect(JSON.parse(await readFile(conflist, 'utf8'))).toEqual(primary);
      expect(existsSync(join(host, 'opt/cni/bin/trellis-cni'))).toBe(false);
      expect(existsSync(join(host, 'etc/cni/net.d/ZZZ-trellis-cni-kubeconfig'))).toBe(false);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it.each([
    [{ CNI_NETWORK_CONFIG: '{"name": ' }, 'trellis-cni install: invalid value for CNI_NETWORK_CONFIG: CNI_NETWORK_CONFIG is not JSON'],
    [{ KUBERNETES_SERVICE_HOST: '' }, 'trellis-cni install: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set'],
    [{ KUBECONFIG_MODE: 'rw' }, 'trellis-cni install: invalid value "rw" for KUBECONFIG_MODE: expected octal permissions such as 600'],
  ])('refuses %j at start, naming it, and touches nothing', async (bad, message) => {
    const host = await node(`node-bad-${Object.keys(bad)[0]}`);
    const child = spawn(binary, ['install'], { env: { ...env(host), ...bad }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    // close, not exit: stderr is read to its end.
    const [code] = (await once(child, 'close')) as [number | null];
    const r = { code, stderr };
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(JSON.parse(await readFile(join(host, 'etc/cni/net.d/10-k8s.conflist'), 'utf8'))).toEqual(primary);
    expect(existsSync(join(host, 'opt/cni/bin/trellis-cni'))).toBe(false);
  });
});
