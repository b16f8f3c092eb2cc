// How a container becomes a process: `ip netns exec` puts it in the pod's network namespace (and binds the pod's
// /etc/{resolv.conf,hosts,hostname}), `unshare --uts` gives it the pod's hostname, a launcher script bind-mounts its
// volumes inside that private mount namespace, and setpriv drops to its user, group and capabilities.
import { spawn, type ChildProcess } from 'node:child_process';
import type { KObject } from './kube.ts';

/** The capabilities a container runtime grants by default (containerd's list). */
export const DEFAULT_CAPABILITIES = [
  'chown', 'dac_override', 'fsetid', 'fowner', 'mknod', 'net_raw', 'setgid', 'setuid', 'setfcap', 'setpcap',
  'net_bind_service', 'sys_chroot', 'kill', 'audit_write',
];

const capName = (c: string) => c.toLowerCase().replace(/^cap_/, '');

export interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** Capabilities in the bounding set (null = all, for privileged containers). */
  readonly bounding: readonly string[] | null;
  /** Capabilities the container asked for by name: a non-root process gets these as ambient capabilities. */
  readonly added: readonly string[];
  readonly noNewPrivs: boolean;
}

/** The user, group and capabilities of a container from its and its pod's securityContext. */
export function containerIdentity(container: KObject, pod: KObject): Identity {
  const psc = (pod['spec']?.['securityContext'] ?? {}) as KObject;
  const sc = (container['securityContext'] ?? {}) as KObject;
  const uid = Number(sc['runAsUser'] ?? psc['runAsUser'] ?? 0);
  const gid = Number(sc['runAsGroup'] ?? psc['runAsGroup'] ?? (sc['runAsUser'] ?? psc['runAsUser'] ? uid : 0));
  const groups = [...((psc['supplementalGroups'] ?? []) as number[]), ...(psc['fsGroup'] !== undefined ? [Number(psc['fsGroup'])] : [])];
  const add = ((sc['capabilities']?.['add'] ?? []) as string[]).map(capName);
  const drop = ((sc['capabilities']?.['drop'] ?? []) as string[]).map(capName);
  let bounding: string[] | null;
  if (sc['privileged'] === true || add.includes('all')) bounding = null;
  else {
    const base = drop.includes('all') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
    bounding = [...new Set([...base, ...add])];
  }
  return { uid, gid, groups, bounding, added: add.filter((c) => c !== 'all'), noNewPrivs: sc['allowPrivilegeEscalation'] === false };
}

/** Why a container may not run as `id` (runAsNonRoot with uid 0), or undefined when it may. */
export function nonRootViolation(container: KObject, pod: KObject, id: Identity): string | undefined {
  const nonRoot = container['securityContext']?.['runAsNonRoot'] ?? pod['spec']?.['securityContext']?.['runAsNonRoot'];
  return nonRoot === true && id.uid === 0 ? 'container has runAsNonRoot and would run as root (set runAsUser)' : undefined;
}

/** setpriv's arguments for an identity. */
export function setprivArgs(id: Identity): string[] {
  const args = ['--reuid', String(id.uid), '--regid', String(id.gid)];
  args.push(...(id.groups.length > 0 ? ['--groups', id.groups.join(',')] : ['--clear-groups']));
  if (id.bounding !== null) {
    const set = (caps: readonly string[]) => ['-all', ...caps.map((c) => `+${c}`)].join(',');
    args.push('--bounding-set', set(id.bounding));
    if (id.uid === 0) {
      args.push('--inh-caps', set(id.bounding));
    } else {
      // Without file capabilities a non-root process keeps nothing across exec; ambient capabilities stand in for
      // the image's setcap'd binaries (proxy-init's iptables) for exactly the capabilities the container added.
      const ambient = id.added.filter((c) => id.bounding!.includes(c));
      args.push('--inh-caps', set(ambient), '--ambient-caps', set(ambient));
    }
  } else if (id.uid !== 0) {
    args.push('--inh-caps', '+all', '--ambient-caps', '+all');
  }
  if (id.noNewPrivs) args.push('--no-new-privs');
  return args;
}

/** POSIX shell single-quoting. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** A single file (subPath of a file): the target is created as a file, not a directory. */
  readonly file: boolean;
}

/** The launcher script: hostname, mounts, working directory, then exec of the container's argv. */
export function launcherScript(opts: { hostname: string; mounts: readonly Mount[]; workingDir?: string; argv: readonly string[]; id: Identity }): string {
  const lines = ['set -e', `printf %s ${shq(opts.hostname)} > /proc/sys/kernel/hostname`];
  for (const m of opts.mounts) {
    const t = shq(m.target);
    lines.push(m.file ? `mkdir -p "$(dirname ${t})" && { [ -e ${t} ] || : > ${t}; }` : `mkdir -p ${t}`);
    lines.push(`mount --bind ${shq(m.source)} ${t}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${t}`);
  }
  if (opts.workingDir) lines.push(`mkdir -p ${shq(opts.workingDir)}`, `cd ${shq(opts.workingDir)}`);
  lines.push(`exec setpriv ${setprivArgs(opts.id).map(shq).join(' ')} -- ${opts.argv.map(shq).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Starts a launcher in the pod's namespace; the returned child's pid is the container's main process. */
export function spawnInPod(netns: string, launcher: string, env: ReadonlyMap<string, string>, logFd: number): ChildProcess {
  // Every exec in the chain (ip netns exec, unshare, sh's exec, setpriv) replaces the process, so the pid we get
  // is the container's own, and detached makes it a process group we can signal as a whole.
  return spawn('ip', ['netns', 'exec', netns, 'unshare', '--uts', '--', '/bin/sh', launcher], {
    env: Object.fromEntries(env),
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
}

/** argv that runs `command` inside a running container's namespaces, as its user (exec probes and hooks). */
export function execInContainerArgv(pid: number, id: Identity, command: readonly string[]): string[] {
  return ['nsenter', '--target', String(pid), '--net', '--mount', '--uts', '--setuid', String(id.uid), '--setgid', String(id.gid), '--', ...command];
}
