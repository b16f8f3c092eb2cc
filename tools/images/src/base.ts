// A base image assembled from the pinned Node 24 binary (node_modules/node) and the host's shared libraries,
// for machines where no registry serves node:24-slim. The 'iptables' flavor adds the host's iptables (nft and
// legacy, both families) with their modules, for proxy-init.
import { copyFile, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BaseFlavor } from './images.ts';
import { must } from './exec.ts';
import { commitImage } from './working-container.ts';

const XTABLES_MODULES = '/usr/lib/x86_64-linux-gnu/xtables';
const IPTABLES_LINKS = ['iptables', 'ip6tables'].flatMap((fam) =>
  ['nft', 'legacy'].flatMap((mode) => ['', '-save', '-restore'].map((suffix) => [`${fam}-${mode}${suffix}`, `xtables-${mode}-multi`] as const)),
);

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'trellis-proxy:x:2102:2102:Trellis proxy:/nonexistent:/bin/false',
  'trellis:x:2103:2103:Trellis controller:/nonexistent:/bin/false',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
];
const GROUP = ['root:x:0:', 'trellis-proxy:x:2102:', 'trellis:x:2103:', 'nogroup:x:65534:'];

export interface BaseImage {
  readonly ref: string;
  readonly built: boolean;
}

/** Bumped when what the base holds changes, so machines that assembled an older one assemble it again. */
const BASE_RECIPE = 3;

/** The local base's name: flavor, Node version and recipe, so a Node bump or a recipe change makes a new base. */
export function baseRef(flavor: BaseFlavor, nodeVersion: string): string {
  return `localhost/trellis/base-${flavor}:node-${nodeVersion}-r${BASE_RECIPE}`;
}

/**
 * proxy-init runs as a non-root user with NET_ADMIN and NET_RAW added, and a non-root process loses its capabilities
 * at exec unless the file grants them: iptables gets them from file capabilities, as in Linkerd's proxy-init image.
 * With allowPrivilegeEscalation: false (no_new_privs) an exec can only keep capabilities its caller already had, so
 * Node, the entrypoint, needs them permitted too, or iptables starts with none and fails with "you must be root".
 * Node gets no effective bit: it never uses them itself, and with the bit set, exec would fail outright in any
 * container whose bounding set lacks them.
 */
const XTABLES_CAPABILITIES = 'cap_net_admin,cap_net_raw+eip';
const ENTRYPOINT_CAPABILITIES = 'cap_net_admin,cap_net_raw+ip';

/** Shared libraries a binary loads (ldd), as absolute paths. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await must('ldd', [binary]);
  return [...out.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1] as string);
}

async function copyInto(root: string, path: string, as = path): Promise<void> {
  await mkdir(join(root, dirname(as)), { recursive: true });
  await copyFile(await realpath(path), join(root, as));
  await chmod(join(root, as), (await lstat(await realpath(path))).mode & 0o7777);
}

/** Writes the rootfs of a base flavor into a fresh directory and returns it. */
export async function assembleRootfs(flavor: BaseFlavor, nodeBinary: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `trellis-base-${flavor}-`));
  const binaries: Array<[string, string]> = [
    [nodeBinary, '/usr/local/bin/node'],
    // A shell for RUN steps and `sleep` for the proxy's preStop hook (non-native sidecars).
    ['/usr/bin/dash', '/bin/sh'],
    ['/usr/bin/sleep', '/bin/sleep'],
  ];
  if (flavor === 'iptables') binaries.push(['/usr/sbin/xtables-nft-multi', '/usr/sbin/xtables-nft-multi'], ['/usr/sbin/xtables-legacy-multi', '/usr/sbin/xtables-legacy-multi']);
  const libs = new Set<string>();
  for (const [from, to] of binaries) {
    await copyInto(root, from, to);
    for (const l of await sharedLibraries(from)) libs.add(l);
  }
  if (flavor === 'iptables') {
    for (const multi of ['xtables-nft-multi', 'xtables-legacy-multi']) await must('setcap', [XTABLES_CAPABILITIES, join(root, 'usr/sbin', multi)]);
    await must('setcap', [ENTRYPOINT_CAPABILITIES, join(root, 'usr/local/bin/node')]);
    for (const [name, target] of IPTABLES_LINKS) await symlink(target, join(root, 'usr/sbin', name));
    await mkdir(join(root, XTABLES_MODULES), { recursive: true });
    for (const m of await readdir(XTABLES_MODULES)) {
      const path = join(XTABLES_MODULES, m);
      const st = await lstat(path);
      if (st.isSymbolicLink()) await symlink(await readlink(path), join(root, path));
      else if (st.isFile()) {
        await copyInto(root, path);
        for (const l of await sharedLibraries(path)) libs.add(l);
      }
    }
    await copyInto(root, '/etc/protocols');
    await copyInto(root, '/etc/ethertypes').catch(() => undefined);
  }
  for (const l of libs) await copyInto(root, l);
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), PASSWD.join('\n') + '\n');
  await writeFile(join(root, 'etc/group'), GROUP.join('\n') + '\n');
  await mkdir(join(root, 'tmp'), { mode: 0o1777 });
  await chmod(join(root, 'tmp'), 0o1777);
  return root;
}

/** The local base of a flavor, built unless it exists (or `rebuild`). */
export async function ensureBase(flavor: BaseFlavor, nodeBinary: string, nodeVersion: string, rebuild: boolean): Promise<BaseImage> {
  const ref = baseRef(flavor, nodeVersion);
  const existing = (await must('buildah', ['images', '--quiet', '--noheading', ref]).catch(() => '')).trim();
  if (existing && !rebuild) return { ref, built: false };
  const rootfs = await assembleRootfs(flavor, nodeBinary);
  try {
    await commitImage('scratch', ref, async (ctr) => {
      await must('buildah', ['copy', ctr, rootfs, '/']);
      await must('buildah', [
        'config',
        '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--label', `org.opencontainers.image.description=Trellis base (${flavor}): Node ${nodeVersion} from node_modules/node and host libraries`,
        '--cmd', 'node',
        ctr,
      ]);
    });
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  return { ref, built: true };
}
