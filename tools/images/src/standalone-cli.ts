#!/usr/bin/env node
// trellis-standalone: builds the standalone trellis executables (linux amd64 and arm64, each with its sha256) and
// the npm package into dist/standalone/.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, VERSION, runCommand } from '@trellis/config';
import { must } from './exec.ts';
import { ARCHES, buildNpmPackage, buildStandalone, helmFor, nodeFor, type Arch } from './standalone.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const say = (line: string) => process.stderr.write(`trellis-standalone: ${line}\n`);

await runCommand(
  {
    name: 'trellis-standalone',
    summary: 'trellis-standalone: builds the standalone trellis executables and the npm package into dist/standalone/.',
    flags: {
      arch: { type: 'list', description: `architectures (${ARCHES.join(', ')})`, value: 'ARCHES', default: [...ARCHES] },
      helm: { type: 'boolean', description: 'embed the pinned helm (else trellis install looks for one)', default: true },
      npm: { type: 'boolean', description: 'also pack the npm package (builds the CLI bundle)', default: true },
      out: { type: 'string', description: 'output directory', value: 'DIR', default: join(REPO_ROOT, 'dist/standalone') },
    },
  },
  process.argv.slice(2),
  async ({ values }) => {
    const arches = values['arch'] as string[];
    for (const a of arches) if (!(ARCHES as readonly string[]).includes(a)) throw new ConfigError(`--arch: expected ${ARCHES.join(' or ')}, got ${JSON.stringify(a)}`);
    const out = values['out'] as string;
    const cache = join(process.env['TRELLIS_CACHE'] ?? join(process.env['HOME'] ?? '/root', '.cache/trellis'), 'tools');
    for (const arch of arches as Arch[]) {
      const helm = values['helm'] ? await helmFor(arch, REPO_ROOT, cache, say) : undefined;
      await buildStandalone({ repoRoot: REPO_ROOT, arch, outDir: out, helm, node: await nodeFor(arch, cache, say), say });
    }
    if (values['npm']) {
      await must(join(REPO_ROOT, 'node_modules/.bin/nx'), ['run', '@trellis/cli:build', '--output-style=static'], { cwd: REPO_ROOT });
      say(`packed ${await buildNpmPackage(REPO_ROOT, VERSION, out)}`);
    }
  },
);
