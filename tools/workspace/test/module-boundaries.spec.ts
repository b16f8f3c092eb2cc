// The house rules are enforced by lint, not by review: data-plane code may not reach control-plane code or the
// control-plane-only packages. Each case lints source text as if it lived at the given path in the real workspace.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries' || m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('module boundaries', () => {
  it('fails lint when the proxy (data plane) imports @kubernetes/client-node', async () => {
    const errors = await boundaryErrors('apps/proxy/src/probe.ts', "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n");
    expect(errors.join('\n')).toMatch(/@kubernetes\/client-node/);
  });

  it('fails lint when proxy-init (data plane) imports fastify', async () => {
    const errors = await boundaryErrors('apps/proxy-init/src/probe.ts', "import fastify from 'fastify';\nexport const f = fastify;\n");
    expect(errors.join('\n')).toMatch(/fastify/);
  });

  it('fails lint when the proxy imports a control-plane lib', async () => {
    const errors = await boundaryErrors('apps/proxy/src/probe.ts', "import { loadKubeConfig } from '@trellis/k8s';\nexport const l = loadKubeConfig;\n");
    expect(errors.join('\n')).toMatch(/scope:data-plane/);
  });

  it('fails lint when a shared lib imports a control-plane package', async () => {
    const errors = await boundaryErrors('libs/config/src/probe.ts', "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('fails lint when one app imports another app', async () => {
    const errors = await boundaryErrors('apps/identity/src/probe.ts', "import '@trellis/destination';\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('passes lint for allowed imports: the identity service (control plane) using @trellis/k8s and @trellis/config', async () => {
    const errors = await boundaryErrors(
      'apps/identity/src/probe.ts',
      "import { loadKubeConfig } from '@trellis/k8s';\nimport { VERSION } from '@trellis/config';\nexport const x = [loadKubeConfig, VERSION];\n",
    );
    expect(errors).toEqual([]);
  });
});
