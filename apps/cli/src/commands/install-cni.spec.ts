// trellis install-cni with the pinned helm: the chart stays the one source (the default output is helm's render of
// helm/trellis-cni), Linkerd's flags reach the values they name, and a bad flag value is refused by name.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from './root.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const HELM = join(REPO, 'tools/bin/helm');
const KUBE_VERSION = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}
type Doc = { kind: string; metadata: { name: string; namespace?: string }; data?: Record<string, string> };
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Doc).filter((d) => d !== null);
const entry = (yaml: string) => JSON.parse(docs(yaml).find((d) => d.kind === 'ConfigMap')?.data?.['cni_network_config'] ?? '{}') as { log_level: string; linkerd: Record<string, unknown> };

describe('trellis install-cni', () => {
  it("prints helm's render of helm/trellis-cni, namespace included, for kubectl apply", async () => {
    const r = await trellis('install-cni');
    expect(r.code, r.err).toBe(0);
    const { stdout } = await promisify(execFile)(HELM, ['template', 'trellis-cni', join(REPO, 'helm/trellis-cni'), '--namespace', 'trellis-cni', '--kube-version', KUBE_VERSION]);
    expect(r.out).toBe(stdout);
    expect(docs(r.out).map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Namespace/trellis-cni', 'ServiceAccount/trellis-cni', 'ConfigMap/trellis-cni-config', 'ClusterRole/trellis-cni', 'ClusterRoleBinding/trellis-cni', 'DaemonSet/trellis-cni']);
  }, 60_000);

  it("maps Linkerd's install-cni flags to the plugin's settings", async () => {
    const r = await trellis('install-cni', '--cni-namespace', 'mesh-cni', '--dest-cni-net-dir', '/etc/kubernetes/cni/net.d', '--skip-inbound-ports', '25,3306', '--skip-outbound-ports', '', '--proxy-gid', '2103', '--cni-log-level', 'debug', '--iptables-mode', 'legacy', '--cni-image-version', 'dev');
    expect(r.code, r.err).toBe(0);
    const all = docs(r.out);
    expect(all.find((d) => d.kind === 'DaemonSet')?.metadata.namespace).toBe('mesh-cni');
    const e = entry(r.out);
    expect(e.log_level).toBe('debug');
    expect(e.linkerd).toMatchObject({ 'inbound-ports-to-ignore': ['4190', '4191', '25', '3306'], 'outbound-ports-to-ignore': [], 'proxy-gid': 2103, 'iptables-mode': 'legacy' });
    expect(all.find((d) => d.kind === 'ConfigMap')?.data?.['dest_cni_net_dir']).toBe('/etc/kubernetes/cni/net.d');
    expect(r.out).toContain('image: trellis/cni-plugin:dev');
  }, 60_000);

  it.each([
    [['--inbound-port', '70000'], 'invalid value "70000" for --inbound-port'],
    [['--skip-inbound-ports', '25,smtp'], 'invalid value "25,smtp" for --skip-inbound-ports'],
    [['--dest-cni-bin-dir', 'opt/cni/bin'], 'invalid value "opt/cni/bin" for --dest-cni-bin-dir: expected an absolute path'],
    [['--cni-log-level', 'loud'], 'invalid value "loud" for --cni-log-level: expected one of debug, info, warn, error'],
  ])('refuses %j naming the flag', async (args, message) => {
    const r = await trellis('install-cni', ...args);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`trellis install-cni: ${message}`);
    expect(r.out).toBe('');
  });
});
