// The installer the DaemonSet runs on every node (Linkerd's install-cni.sh, in TypeScript): it copies the plugin
// into the host's CNI bin directory, writes the plugin's kubeconfig into the host's CNI config directory, chains
// the plugin into every CNI config there, and keeps all three true: a config the primary network rewrites is
// chained again, and a rotated service account token rewrites the kubeconfig. stop() takes everything out again.
import { watch, type FSWatcher } from 'node:fs';
import { chmod, copyFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '@trellis/telemetry';
import { addPlugin, pluginEntry, removePlugin } from './conflist.ts';
import { kubeconfigText } from './kubeconfig.ts';

export interface InstallerOptions {
  /** Where the host's CNI config directory is mounted in this container (e.g. /host/etc/cni/net.d). */
  readonly hostConfDir: string;
  /** The same directory as the host (and so the plugin) sees it, for the kubeconfig path in the conflist. */
  readonly destConfDir: string;
  /** Where the host's CNI bin directory is mounted (e.g. /host/opt/cni/bin). */
  readonly hostBinDir: string;
  /** The plugin executable to copy. */
  readonly pluginBinary: string;
  readonly kubeconfigName: string;
  readonly kubeconfigMode: number;
  /** The conflist entry, with __KUBECONFIG_FILEPATH__ for the kubeconfig's path on the host. */
  readonly networkConfig: string;
  readonly serviceAccountDir: string;
  readonly apiHost: string;
  readonly apiPort: string;
  readonly skipTlsVerify: boolean;
  readonly log: Logger;
}

const BINARY_NAME = 'trellis-cni';
const isConfig = (name: string) => /\.(conflist|conf)$/.test(name);

/** Writes through a temporary file and a rename, so the runtime never reads half a file. */
async function writeAtomic(path: string, text: string | Buffer, mode?: number): Promise<void> {
  const tmp = join(path, '..', `.${basename(path)}.trellis-tmp`);
  await writeFile(tmp, text);
  if (mode !== undefined) await chmod(tmp, mode);
  await rename(tmp, path);
}

export class Installer {
  private readonly o: InstallerOptions;
  private readonly watchers: FSWatcher[] = [];
  private syncing: Promise<void> = Promise.resolve();
  private lastToken = '';

  constructor(o: InstallerOptions) {
    this.o = o;
  }

  get kubeconfigPath(): string {
    return join(this.o.hostConfDir, this.o.kubeconfigName);
  }

  async installBinary(): Promise<void> {
    const tmp = join(this.o.hostBinDir, `.${BINARY_NAME}.trellis-tmp`);
    await copyFile(this.o.pluginBinary, tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, join(this.o.hostBinDir, BINARY_NAME));
    this.o.log.info(`wrote ${join(this.o.hostBinDir, BINARY_NAME)}`);
  }

  async writeKubeconfig(): Promise<boolean> {
    const token = (await readFile(join(this.o.serviceAccountDir, 'token'), 'utf8')).trim();
    if (token === this.lastToken) return false;
    const caPem = await readFile(join(this.o.serviceAccountDir, 'ca.crt'), 'utf8').catch(() => undefined);
    const text = kubeconfigText({ host: this.o.apiHost, port: this.o.apiPort, token, caPem, skipTlsVerify: this.o.skipTlsVerify });
    await writeAtomic(this.kubeconfigPath, text, this.o.kubeconfigMode);
    this.lastToken = token;
    this.o.log.info(`wrote the plugin's kubeconfig ${this.kubeconfigPath}`);
    return true;
  }

  /** Chains the plugin into one config file; a .conf becomes a .conflist. */
  async chain(name: string): Promise<void> {
    const path = join(this.o.hostConfDir, name);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return; // gone in the meantime
    const entry = pluginEntry(this.o.networkConfig, join(this.o.destConfDir, this.o.kubeconfigName));
    const patch = addPlugin(text, entry);
    if (patch.kind === 'invalid') {
      this.o.log.warn(`leaving ${path} alone: ${patch.reason}`);
      return;
    }
    const target = name.endsWith('.conf') ? `${path}list` : path;
    if (patch.kind === 'write') {
      await writeAtomic(target, patch.text);
      if (target !== path) await rm(path, { force: true });
      this.o.log.info(`chained trellis-cni into ${target}`);
    }
  }

  /** Chains every config file, one pass at a time (watch events queue behind the pass in flight). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      for (const name of (await readdir(this.o.hostConfDir)).filter(isConfig).sort()) await this.chain(name);
    });
    return this.syncing;
  }

  async start(): Promise<void> {
    await this.installBinary();
    await this.writeKubeconfig();
    // Watch before the first pass, so a config written during it is not missed.
    this.watchers.push(
      watch(this.o.hostConfDir, (_event, file) => {
        if (file && isConfig(file) && !file.startsWith('.')) this.sync().catch((err: unknown) => this.o.log.error({ err }, 'cannot chain the plugin'));
      }),
    );
    // The kubelet swaps a projected token in by renaming its ..data link.
    this.watchers.push(
      watch(this.o.serviceAccountDir, () => {
        this.writeKubeconfig().catch((err: unknown) => this.o.log.error({ err }, "cannot rewrite the plugin's kubeconfig"));
      }),
    );
    await this.sync();
  }

  /** Uninstall: out of every config, then the kubeconfig and the binary go. */
  async stop(): Promise<void> {
    for (const w of this.watchers.splice(0)) w.close();
    await this.syncing.catch(() => undefined);
    for (const name of (await readdir(this.o.hostConfDir)).filter(isConfig)) {
      const path = join(this.o.hostConfDir, name);
      const patch = removePlugin(await readFile(path, 'utf8'));
      if (patch.kind === 'write') {
        await writeAtomic(path, patch.text);
        this.o.log.info(`took trellis-cni out of ${path}`);
      }
    }
    await rm(this.kubeconfigPath, { force: true });
    await rm(join(this.o.hostBinDir, BINARY_NAME), { force: true });
    this.o.log.info('removed the plugin and its kubeconfig');
  }
}
