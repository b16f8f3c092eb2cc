import { describe, expect, it } from 'vitest';
import { resolveCommand, runCli } from './root.ts';
import { ROOT, type CommandNode } from './tree.ts';

async function trellis(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

function paths(node: CommandNode, prefix: string[] = []): string[][] {
  // __complete (hidden, no spec) reads raw words, --help among them.
  return Object.entries(node.subcommands ?? {})
    .filter(([, c]) => c.spec || c.subcommands)
    .flatMap(([name, c]) => [[...prefix, name], ...paths(c, [...prefix, name])]);
}

describe('trellis command line', () => {
  it('finds the command wherever the global flags sit, leaving the flags to it', () => {
    expect(resolveCommand(['-n', 'emojivoto', 'check', '--proxy'])).toMatchObject({ path: ['check'], rest: ['-n', 'emojivoto', '--proxy'] });
    expect(resolveCommand(['-n', 'emojivoto', 'viz', 'stat', 'deploy'])).toMatchObject({ path: ['viz', 'stat'], rest: ['-n', 'emojivoto', 'deploy'] });
    expect(resolveCommand(['--context=kind', '-L', 'mesh', 'viz', '--kubeconfig', '/k', 'stat', 'deploy', '-n', 'e'])).toMatchObject({
      path: ['viz', 'stat'],
      rest: ['--context=kind', '-L', 'mesh', '--kubeconfig', '/k', 'deploy', '-n', 'e'],
    });
    expect(resolveCommand(['stat', 'deploy'])).toMatchObject({ path: ['stat'], rest: ['deploy'] });
  });

  it('prints usage and exits 0 for --help on the root, every group and every command', async () => {
    const all = [[], ...paths(ROOT)];
    expect(all.length).toBeGreaterThan(8);
    for (const path of all) {
      for (const help of ['--help', '-h']) {
        const r = await trellis(...path, help);
        expect({ path, code: r.code, err: r.err }).toEqual({ path, code: 0, err: '' });
        expect(r.out).toMatch(/Usage: trellis/);
        expect(r.out).toMatch(/--kubeconfig/);
      }
    }
    expect((await trellis('-n', 'x', 'viz', '--help')).out).toMatch(/stat\s+Golden metrics/);
  });

  it('names an unknown flag or command and exits 2, before or after the command', async () => {
    expect(await trellis('check', '--bogus')).toEqual({ code: 2, out: '', err: 'trellis check: unknown flag --bogus (see trellis check --help)\n' });
    expect(await trellis('--bogus', 'version')).toEqual({ code: 2, out: '', err: 'trellis version: unknown flag --bogus (see trellis version --help)\n' });
    expect(await trellis('viz', '--frob=1')).toEqual({ code: 2, out: '', err: 'trellis viz: unknown flag --frob (see trellis viz --help)\n' });
    expect(await trellis('viz', 'stats')).toEqual({ code: 2, out: '', err: 'trellis: unknown command "stats" for "trellis viz" (see trellis viz --help)\n' });
    expect(await trellis('frob')).toEqual({ code: 2, out: '', err: 'trellis: unknown command "frob" for "trellis" (see trellis --help)\n' });
    expect((await trellis('check', '--namespace')).code).toBe(2);
  });

  it('takes the global flags before the command too', async () => {
    const r = await trellis('--context', 'nope', '-L', 'mesh', '--verbose', 'version', '--client', '--short');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
  });
});
