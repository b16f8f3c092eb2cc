// The iptables base under runc configured the way containerd configures linkerd-init by default (uid 65534,
// no_new_privs from allowPrivilegeEscalation: false, NET_ADMIN and NET_RAW added to the bounding, effective and
// permitted sets, no ambient set), in a network namespace of its own: Node, the entrypoint, runs iptables and it
// writes a nat chain. Without the capabilities the base grants Node, the same exec fails as a user would see it.
// The kubelet e2e (tools/e2e, cni.root.spec.ts) runs the real proxy-init image in a pod the same way.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleRootfs } from '../src/base.ts';
import { exec, must } from '../src/exec.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = join(REPO_ROOT, 'node_modules/node/bin/node');
const CAPS = ['CAP_NET_ADMIN', 'CAP_NET_RAW'];
// What proxy-init does first: list the nat table, then add its chain.
const SCRIPT = `
const { spawnSync } = require('node:child_process');
const run = (args) => spawnSync('/usr/sbin/iptables-nft', args, { encoding: 'utf8' });
const n = run(['-t', 'nat', '-N', 'PROXY_INIT_REDIRECT']);
const save = spawnSync('/usr/sbin/iptables-nft-save', ['-t', 'nat'], { encoding: 'utf8' });
console.log(JSON.stringify({ uid: process.getuid(), code: n.status, stderr: n.stderr.trim(), save: save.stdout }));
`;

let bundle: string;

beforeAll(async () => {
  bundle = await mkdtemp(join(tmpdir(), 'trellis-runc-init-'));
  const rootfs = await assembleRootfs('iptables', NODE);
  await must('mv', [rootfs, join(bundle, 'rootfs')]);
  await chmod(join(bundle, 'rootfs'), 0o755);
  await must('runc', ['spec', '--bundle', bundle]);
}, 120_000);

afterAll(async () => {
  if (bundle) await rm(bundle, { recursive: true, force: true });
});

async function runAsLinkerdInit(name: string): Promise<{ uid: number; code: number; stderr: string; save: string }> {
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: Record<string, unknown>;
    root: Record<string, unknown>;
  };
  config.process['terminal'] = false;
  config.process['user'] = { uid: 65534, gid: 65534 };
  config.process['noNewPrivileges'] = true;
  config.process['capabilities'] = { bounding: CAPS, effective: CAPS, permitted: CAPS };
  config.process['args'] = ['/usr/local/bin/node', '-e', SCRIPT];
  config.root['readonly'] = true;
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
  const r = await exec('runc', ['run', '--bundle', bundle, name]);
  if (r.code !== 0) throw new Error(`runc run ${name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { uid: number; code: number; stderr: string; save: string };
}

describe('the iptables base as linkerd-init runs it', () => {
  it('lets Node, as uid 65534 with no_new_privs, run iptables that writes a nat chain', async () => {
    const r = await runAsLinkerdInit(`trellis-init-caps-${process.pid}`);
    expect(r).toMatchObject({ uid: 65534, code: 0, stderr: '' });
    expect(r.save).toContain(':PROXY_INIT_REDIRECT - [0:0]');
  }, 60_000);

  it('fails with "you must be root" when Node holds no capabilities to pass on', async () => {
    await must('setcap', ['-r', join(bundle, 'rootfs/usr/local/bin/node')]);
    const r = await runAsLinkerdInit(`trellis-init-nocaps-${process.pid}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('you must be root');
  }, 60_000);
});
