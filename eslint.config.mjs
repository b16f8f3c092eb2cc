// One flat config for the workspace. Module boundaries are enforced on two axes of Nx tags:
// type (app, lib, tool) and scope (control-plane, data-plane, shared, tooling).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const controlPlaneOnly = ['@kubernetes/client-node', 'fastify', '@fastify/*'];
// Apps are deployables, never dependencies: shared behaviour belongs in a lib. (Apps have no package
// exports, so the Nx rule cannot see these imports; this names them.)
const apps = ['cli', 'destination', 'identity', 'proxy', 'proxy-init', 'proxy-injector'].map((a) => `@trellis/${a}`);
const noApps = { group: apps, message: 'apps cannot be imported; move the shared code into a lib under libs/' };

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/build', '**/vitest.config.*.timestamp*', 'libs/proto/src/gen/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:control-plane',
              onlyDependOnLibsWithTags: ['scope:control-plane', 'scope:shared'],
            },
            {
              sourceTag: 'scope:data-plane',
              onlyDependOnLibsWithTags: ['scope:data-plane', 'scope:shared'],
              bannedExternalImports: controlPlaneOnly,
            },
            { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
      'no-restricted-imports': ['error', { patterns: [noApps] }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Test-runner configs share the workspace's vitest settings by relative import; they are not product code.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // The data plane by path as well as by tag, so the ban holds even where the package is not installed.
    files: ['apps/proxy/**/*.ts', 'apps/proxy-init/**/*.ts', 'libs/net/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noApps, { group: controlPlaneOnly, message: 'the data plane does not talk to the Kubernetes API or serve fastify' }] }],
    },
  },
  {
    // shared libs must not pull in control-plane-only packages either: the proxy depends on them.
    files: ['libs/{config,telemetry,proto,pki}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noApps, { group: controlPlaneOnly, message: 'shared libs run in the proxy too' }] }],
    },
  },
];
