import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completions } from './completion.ts';
import { runCli } from './root.ts';
import { ROOT } from './tree.ts';

let bin: string;

beforeAll(async () => {
  // A `trellis` on PATH that runs this source tree, as the installed binary would.
  bin = await mkdtemp(join(tmpdir(), 'trellis-completion-'));
  await writeFile(join(bin, 'trellis'), `#!/bin/sh\nexec "${process.execPath}" "${join(import.meta.dirname, '..', 'main.ts')}" "$@"\n`);
  await chmod(join(bin, 'trellis'), 0o755);
});

afterAll(async () => {
  if (bin) await rm(bin, { recursive: true, force: true });
});

async function script(shell: string): Promise<string> {
  let out = '';
  const code = await runCli(['completion', shell], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined }, readStdin: async () => '' });
  expect(code).toBe(0);
  return out;
}

function bash(source: string, line: string[]): Promise<string> {
  const program = `${source}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _trellis; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', program], { env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` } }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
  );
}

describe('trellis completion', () => {
  it('completes commands, subcommands and the flags of the command being typed', () => {
    expect(completions(ROOT, ['vi'])).toEqual(['viz']);
    expect(completions(ROOT, ['-n', 'emojivoto', 'viz', ''])).toEqual(['check', 'dashboard', 'edges', 'install', 'routes', 'stat', 'tap', 'top', 'uninstall']);
    expect(completions(ROOT, ['check', '--pr'])).toEqual(['--pre', '--proxy']);

    expect(completions(ROOT, ['nope', ''])).toEqual([]);
  });

  it('gives bash a script that completes through the installed trellis', async () => {
    const source = await script('bash');
    expect(await bash(source, ['trellis', 'diag'])).toBe('diagnostics\n');
    expect(await bash(source, ['trellis', '-n', 'emojivoto', 'check', '--pro'])).toBe('--proxy\n');
  }, 30_000);

  it('has scripts for zsh and fish, and names a shell it does not know', async () => {
    expect(await script('zsh')).toMatch(/^#compdef trellis\n/);
    expect(await script('fish')).toMatch(/complete -c trellis .*trellis __complete/);
    let err = '';
    const code = await runCli(['completion', 'tcsh'], { stdout: { write: () => undefined }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
    expect(code).toBe(1);
    expect(err).toBe('trellis completion: expected one shell: bash, zsh or fish, got "tcsh"\n');
  });
});
