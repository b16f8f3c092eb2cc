// What a container runtime does with a conflist (libcni's rules, which containerd follows): for ADD and CHECK it
// execs each plugin in order, for DEL in reverse, with the CNI_* environment, and gives each one the list's
// cniVersion and name, its own entry, and the previous plugin's result as prevResult. The plugins are the real
// binaries: Debian's bridge and host-local from /usr/lib/cni, and the trellis-cni single executable.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
}

export interface PodRef {
  readonly containerId: string;
  readonly netns: string;
  readonly namespace: string;
  readonly name: string;
}

export interface Exec {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class PluginFailed extends Error {
  readonly plugin: string;
  readonly exec: Exec;

  constructor(plugin: string, exec: Exec) {
    super(`${plugin} exited ${exec.code}: ${exec.stdout}${exec.stderr}`);
    this.plugin = plugin;
    this.exec = exec;
  }
}

/** Execs one plugin as the runtime does: a bare environment of CNI_* variables (and nothing else), config on stdin. */
export function execPlugin(binary: string, env: Record<string, string>, stdin: string): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

export class Runtime {
  private readonly cniPath: string;
  private readonly results = new Map<string, unknown>();

  /** cniPath: the directories plugins are looked up in, as the runtime's bin_dir list. */
  constructor(cniPath: readonly string[]) {
    this.cniPath = cniPath.join(':');
  }

  private env(command: string, pod: PodRef): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
      CNI_PATH: this.cniPath,
    };
  }

  /** The first directory of the path that holds the plugin, as libcni's FindInPath. */
  private binary(type: string): string {
    const dir = this.cniPath.split(':').find((d) => existsSync(`${d}/${type}`));
    if (!dir) throw new Error(`no ${type} plugin in ${this.cniPath}`);
    return `${dir}/${type}`;
  }

  private async run(command: string, list: ConfList, plugin: Record<string, unknown>, pod: PodRef, prevResult: unknown): Promise<Exec> {
    const stdin = JSON.stringify({ ...plugin, cniVersion: list.cniVersion, name: list.name, ...(prevResult === undefined ? {} : { prevResult }) });
    const exec = await execPlugin(this.binary(String(plugin['type'])), this.env(command, pod), stdin);
    if (exec.code !== 0) throw new PluginFailed(String(plugin['type']), exec);
    return exec;
  }

  /** ADD through the whole list; returns the last plugin's result, which the runtime keeps for CHECK and DEL. */
  async add(list: ConfList, pod: PodRef): Promise<Record<string, unknown>> {
    let result: unknown;
    for (const plugin of list.plugins) result = JSON.parse((await this.run('ADD', list, plugin, pod, result)).stdout);
    this.results.set(pod.containerId, result);
    return result as Record<string, unknown>;
  }

  async check(list: ConfList, pod: PodRef): Promise<void> {
    for (const plugin of list.plugins) await this.run('CHECK', list, plugin, pod, this.results.get(pod.containerId));
  }

  async del(list: ConfList, pod: PodRef): Promise<void> {
    for (const plugin of [...list.plugins].reverse()) await this.run('DEL', list, plugin, pod, this.results.get(pod.containerId));
    this.results.delete(pod.containerId);
  }
}
