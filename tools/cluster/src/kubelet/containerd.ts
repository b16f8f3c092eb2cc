// containerd (the Debian package) as the node's container runtime: its own root, state and socket under the cluster
// directory, the CRI plugin with runc on cgroupfs, CNI from containernetworking-plugins, and no registry: images are
// imported from OCI archives, and every registry host points at a closed loopback port so nothing is ever pulled.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';

const exec = promisify(execFile);

/** Where the Debian packages put their binaries. */
export const CONTAINERD_BIN = '/usr/bin/containerd';
export const CTR_BIN = '/usr/bin/ctr';
export const CNI_BIN_DIR = '/usr/lib/cni';
/** The CRI plugin keeps its images and containers in this containerd namespace. */
export const CRI_NAMESPACE = 'k8s.io';

export interface ContainerdPaths {
  readonly dir: string;
  readonly config: string;
  readonly socket: string;
  readonly root: string;
  readonly state: string;
  readonly cniConfDir: string;
  readonly registryDir: string;
}

export function containerdPaths(nodeDir: string): ContainerdPaths {
  const dir = join(nodeDir, 'containerd');
  return {
    dir,
    config: join(dir, 'config.toml'),
    socket: join(dir, 'containerd.sock'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    cniConfDir: join(nodeDir, 'cni'),
    registryDir: join(dir, 'registries'),
  };
}

export function containerdConfig(p: ContainerdPaths, sandboxImage: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${p.root}"
state = "${p.state}"
# Plugins this node never uses stay off (no btrfs/zfs/devmapper snapshotters, no aufs).
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${p.socket}"
[ttrpc]
  address = "${p.socket}.ttrpc"
[debug]
  level = "warn"

[${cri}]
  sandbox_image = "${sandboxImage}"
  # This machine withholds CAP_SYS_RESOURCE even from root: runc cannot lower a container's OOM score below
  # containerd's own (the kubelet asks -998 for sandboxes), so it is capped there instead of failing.
  restrict_oom_score_adj = true
  # Streams (exec, attach, port-forward) are served on loopback; the kubelet proxies them.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${p.cniConfDir}"
    max_conf_num = 1
  [${cri}.registry]
    config_path = "${p.registryDir}"
`;
}

/**
 * A hosts.toml for the `_default` registry and docker.io: the only server is a closed port on loopback, so an image
 * that was not imported fails with a pull error instead of reaching out of the machine.
 */
export const CLOSED_REGISTRY = 'http://127.0.0.1:9';
export function registryHosts(): string {
  return `server = "${CLOSED_REGISTRY}"\n[host."${CLOSED_REGISTRY}"]\n  capabilities = ["pull", "resolve"]\n`;
}

export async function writeContainerdConfig(p: ContainerdPaths, sandboxImage: string): Promise<void> {
  await mkdir(p.dir, { recursive: true });
  await mkdir(p.cniConfDir, { recursive: true });
  for (const host of ['_default', 'docker.io', 'localhost', 'registry.k8s.io', 'ghcr.io', 'cr.l5d.io']) {
    await mkdir(join(p.registryDir, host), { recursive: true });
    await writeFile(join(p.registryDir, host, 'hosts.toml'), registryHosts());
  }
  await writeFile(p.config, containerdConfig(p, sandboxImage));
}

/** `ctr` against this node's containerd, in the CRI namespace. */
export async function ctr(p: Pick<ContainerdPaths, 'socket'>, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    const r = await exec(CTR_BIN, ['--address', p.socket, '--namespace', CRI_NAMESPACE, ...args], { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

export function containerdInstalled(): string | undefined {
  const missing = [CONTAINERD_BIN, CTR_BIN, '/usr/bin/containerd-shim-runc-v2', `${CNI_BIN_DIR}/bridge`, `${CNI_BIN_DIR}/host-local`, `${CNI_BIN_DIR}/loopback`, `${CNI_BIN_DIR}/portmap`].filter((f) => !existsSync(f));
  const runc = ['/usr/sbin/runc', '/usr/bin/runc'].some((f) => existsSync(f));
  if (!runc) missing.push('runc');
  return missing.length > 0 ? `missing ${missing.join(', ')}: apt-get install containerd runc containernetworking-plugins (tools/scripts/install-system.sh)` : undefined;
}
