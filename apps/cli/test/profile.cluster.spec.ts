// `trellis profile` against a real API server: what it generates is accepted by the ServiceProfile CRD's schema
// (kubectl apply --dry-run=server), and without --ignore-cluster it needs the install's trellis-config.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const data = (name: string) => join(import.meta.dirname, '..', 'testdata', 'profile', name);
const ns = `trellis-profile-${randomBytes(3).toString('hex')}`;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

beforeAll(async () => {
  const crds = await trellis('install', '--crds');
  expect(crds.err).toBe('');
  expect((await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-profile-test', '-f', '-'], crds.out)).stderr).toBe('');
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis profile', () => {
  it('generates profiles from a .proto, an OpenAPI file and the template that the API server accepts', async () => {
    for (const args of [['--proto', data('voting.proto'), 'voting-svc'], ['--open-api', data('books.swagger.yaml'), 'books'], ['--template', 'web-svc']]) {
      const r = await trellis('-n', ns, 'profile', '--ignore-cluster', ...args);
      expect(r.err).toBe('');
      const applied = await kubectl(['apply', '--dry-run=server', '-f', '-'], r.out);
      expect({ args, stderr: applied.stderr }).toEqual({ args, stderr: '' });
      expect(applied.stdout).toMatch(/^serviceprofile\.linkerd\.io\/[a-z-]+\.trellis-profile-[0-9a-f]+\.svc\.cluster\.local created \(server dry run\)\n$/);
    }
  }, 60_000);

  it('reads the cluster domain from the install unless --ignore-cluster, and asks for exactly one source', async () => {
    const r = await trellis('-n', ns, '-L', `${ns}-none`, 'profile', '--template', 'web-svc');
    expect(r).toEqual({ code: 1, out: '', err: `trellis profile: cannot read ConfigMap ${ns}-none/trellis-config: not found (is Trellis installed?); pass --ignore-cluster to use default values\n` });
    expect((await trellis('profile', '--template', '--proto', data('voting.proto'), 'x')).err).toBe('trellis profile: give exactly one of --template, --open-api FILE and --proto FILE\n');
    expect((await trellis('profile', '--ignore-cluster', '--proto', data('nope.proto'), 'x')).err).toBe(`trellis profile: cannot read --proto ${data('nope.proto')}: no such file\n`);
  }, 30_000);
});
