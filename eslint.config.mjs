// One flat config for the workspace. Module boundaries are enforced on two axes of Nx tags:
// type (app, lib, tool) and scope (control-plane, data-plane, shared, tooling).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const controlPlaneOnly = ['@kubernetes/client-node', 'fastify', '@fastify/*'];

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
    // shared libs must not pull in control-plane-only packages either: the proxy depends on them.
    files: ['libs/{config,telemetry,proto,pki}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: controlPlaneOnly }],
    },
  },
];
