// Removing what a kubelet node leaves once its processes are stopped: every container and sandbox in its
// containerd (their shims, network namespaces and mounts), the kubepods cgroups under its cgroup root, and the
// mounts under its directory. Runs before containerd is stopped (it asks containerd) and again after (mounts, cgroups).
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ctr, type ContainerdPaths } from './containerd.ts';

const exec = promisify(execFile);
const CGROUP_V1 = '/sys/fs/cgroup';

/** Network namespace paths of the sandboxes this containerd created. */
export async function sandboxNetns(p: Pick<ContainerdPaths, 'socket'>): Promise<string[]> {
  const ids = (await ctr(p, ['containers', 'list', '--quiet']).catch(() => '')).split('\n').filter(Boolean);
  const paths = new Set<string>();
  for (const id of ids) {
    const info = JSON.parse(await ctr(p, ['containers', 'info', id]).catch(() => '{}')) as { Spec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
    for (const ns of info.Spec?.linux?.namespaces ?? []) if (ns.type === 'network' && ns.path?.startsWith('/var/run/netns/')) paths.add(ns.path);
  }
  return [...paths];
}

/** Kills and deletes every task and container in the node's containerd. */
export async function removeContainers(p: Pick<ContainerdPaths, 'socket'>): Promise<void> {
  const ids = (await ctr(p, ['containers', 'list', '--quiet']).catch(() => '')).split('\n').filter(Boolean);
  for (const id of ids) await ctr(p, ['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => undefined);
  for (const id of ids) {
    await ctr(p, ['tasks', 'delete', '--force', id]).catch(() => undefined);
    await ctr(p, ['containers', 'delete', id]).catch(() => undefined);
  }
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return;
    for (const m of points) await exec('umount', ['--lazy', m]).catch(() => undefined);
  }
}

/** Removes network namespaces (their veths go with them), by path under /var/run/netns. */
export async function removeNetns(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await exec('umount', ['--lazy', path]).catch(() => undefined);
    await exec('rm', ['-f', path]).catch(() => undefined);
  }
}

/** The cgroup v1 hierarchies mounted on this machine (cpu, memory, ..., name=systemd). */
export async function cgroupHierarchies(): Promise<string[]> {
  return (await readdir(CGROUP_V1).catch(() => [] as string[])).map((h) => join(CGROUP_V1, h)).filter((h) => existsSync(join(h, 'cgroup.procs')));
}

async function removeCgroupTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  for (const entry of await readdir(path, { withFileTypes: true })) if (entry.isDirectory()) await removeCgroupTree(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}

/** Removes the node's cgroup root (and every cgroup the kubelet made under it) from each hierarchy. */
export async function removeCgroups(root: string): Promise<void> {
  for (const h of await cgroupHierarchies()) await removeCgroupTree(join(h, root));
}

/** cgroups left of a node's root: for `leftovers`. */
export async function cgroupsLeft(root: string): Promise<string[]> {
  return (await cgroupHierarchies()).map((h) => join(h, root)).filter((p) => existsSync(p));
}

/** Creates the node's cgroup root in each hierarchy (the kubelet requires it to exist); cpuset children start empty. */
export async function createCgroups(root: string): Promise<void> {
  for (const h of await cgroupHierarchies()) {
    const path = join(h, root);
    await mkdir(path, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(h, file))) await writeFile(join(path, file), (await readFile(join(h, file), 'utf8')).trim());
    }
  }
}

/** Pids of containerd shims whose command line names `dir` (the node's containerd state lives there). */
export async function shimsUnder(dir: string): Promise<number[]> {
  const { stdout } = await exec('pgrep', ['-f', `containerd-shim-runc-v2.*${dir}`]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

/**
 * Shims exit on their own once their task is deleted, but not at once (seconds on a loaded machine): waited for up
 * to waitMs, then killed, so a stopped node leaves no process behind.
 */
export async function reapShims(dir: string, waitMs = 10_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while ((await shimsUnder(dir)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const pid of await shimsUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone between the listing and the kill.
    }
  }
}
