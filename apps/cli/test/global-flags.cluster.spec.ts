// The root flags against a real API server: the namespace of the kube context as the default for -n, --context,
// --as/--as-group impersonation, and TRELLIS_NAMESPACE for -L.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const ns = `trellis-flags-${randomBytes(3).toString('hex')}`;
let dir: string;
let cfg: string;

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-flags-'));
  // The shared kubeconfig plus a context that names a namespace, current, and the original one beside it.
  const doc = parse(await readFile(kubeconfig, 'utf8')) as { contexts: { name: string; context: Record<string, string> }[]; 'current-context': string };
  const base = doc.contexts.find((c) => c.name === doc['current-context']);
  if (!base) throw new Error('the test kubeconfig has no current context');
  doc.contexts.push({ name: 'with-ns', context: { ...base.context, namespace: ns } });
  doc['current-context'] = 'with-ns';
  cfg = join(dir, 'kubeconfig');
  await writeFile(cfg, stringify(doc));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Without the viz extension, viz stat first says it reads the proxies directly: that line is not what these test. */
const quiet = (r: { code: number; out: string; err: string }) => ({ ...r, err: r.err.replace(/^trellis viz stat: .*; reading each proxy directly over \d+s instead\n/, '') });

describe('trellis root flags', () => {
  it("defaults -n to the kube context's namespace, before or after the command, and -n wins", async () => {
    const none = (n: string) => ({ code: 0, out: '', err: `No resources of type statefulset found in namespace ${n}.\n` });
    expect(quiet(await trellis('--kubeconfig', cfg, 'viz', 'stat', 'sts', '-t', '1s'))).toEqual(none(ns));
    expect(quiet(await trellis('viz', 'stat', 'sts', '-t', '1s', '--kubeconfig', cfg))).toEqual(none(ns));
    expect(quiet(await trellis('--kubeconfig', cfg, '-n', 'kube-system', 'viz', 'stat', 'sts', '-t', '1s'))).toEqual(none('kube-system'));
    const base = (parse(await readFile(kubeconfig, 'utf8')) as { 'current-context': string })['current-context'];
    expect(quiet(await trellis('--kubeconfig', cfg, '--context', base, 'stat', 'sts', '-t', '1s'))).toEqual(none('default'));
    const missing = quiet(await trellis('--kubeconfig', cfg, '--context', 'nope', 'stat', 'sts'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^trellis stat: context "nope" not found in the kubeconfig \(contexts: .*with-ns\)\n$/);
  }, 30_000);

  it('acts as the user and group given by --as and --as-group', async () => {
    const alice = quiet(await trellis('--kubeconfig', cfg, '--as', 'alice', 'viz', 'stat', 'deploy', '-t', '1s'));
    expect(alice.code).toBe(1);
    expect(alice.err).toBe(`trellis viz stat: deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" in the namespace "${ns}" (HTTP 403)\n`);
    expect(quiet(await trellis('--kubeconfig', cfg, '--as', 'alice', '--as-group', 'system:masters', 'viz', 'stat', 'sts', '-t', '1s'))).toEqual({
      code: 0,
      out: '',
      err: `No resources of type statefulset found in namespace ${ns}.\n`,
    });
    expect((await trellis('--kubeconfig', cfg, '--as-group', 'system:masters', 'stat', 'sts')).err).toMatch(/--as-group needs --as/);
  }, 30_000);

  it('reads the control-plane namespace from TRELLIS_NAMESPACE unless -L is given', async () => {
    const saved = process.env['TRELLIS_NAMESPACE'];
    process.env['TRELLIS_NAMESPACE'] = `${ns}-env`;
    try {
      expect((await trellis('--kubeconfig', cfg, 'version')).err).toBe(`trellis version: cannot read ConfigMap ${ns}-env/trellis-config: not found (is Trellis installed?)\n`);
      expect((await trellis('--kubeconfig', cfg, '-L', `${ns}-flag`, 'version')).err).toMatch(`ConfigMap ${ns}-flag/trellis-config`);
    } finally {
      if (saved === undefined) delete process.env['TRELLIS_NAMESPACE'];
      else process.env['TRELLIS_NAMESPACE'] = saved;
    }
  }, 30_000);
});
