// Builds build/Release/trellis_net.node from native/original_dst.c with the system C compiler, against
// Node-API headers from the node-api-headers package (or the machine's Node headers). Runs from the package's
// "install" script, so `npm ci` builds it on a fresh clone; downloads nothing.
//
// Without a C compiler (or on a system other than Linux) it prints one line saying what is missing and exits 0,
// so the rest of the install goes on; @trellis/net then throws a TRELLIS_ERR_NATIVE_ADDON_MISSING error that
// names the file when something asks for an original destination.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'original_dst.c');
const output = join(root, 'build', 'Release', 'trellis_net.node');
const strict = process.argv.includes('--strict');

function skip(reason) {
  const line = `@trellis/net: native addon not built (${reason}); SO_ORIGINAL_DST lookups will fail until it is: install a C compiler and run \`npm run build:addon -w libs/net\``;
  if (strict) {
    console.error(line);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

function headerDir() {
  const candidates = [];
  try {
    candidates.push(join(dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include'));
  } catch {
    // not installed: fall through to the machine's headers
  }
  candidates.push(join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node');
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

function compiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return cc;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

if (process.platform !== 'linux') skip(`SO_ORIGINAL_DST exists only on Linux, this is ${process.platform}`);
const include = headerDir();
if (!include) skip('no node_api.h found: node-api-headers is not installed and the machine has no Node headers');
const cc = compiler();
if (!cc) skip('no C compiler found (tried $CC, cc, gcc, clang)');

mkdirSync(dirname(output), { recursive: true });
const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-D_GNU_SOURCE', '-DNODE_GYP_MODULE_NAME=trellis_net', `-I${include}`, '-o', output, source];
try {
  execFileSync(cc, args, { stdio: 'inherit' });
} catch {
  console.error(`@trellis/net: compiling the native addon failed: ${cc} ${args.join(' ')}`);
  process.exit(1);
}
console.log(`@trellis/net: built ${output}`);
