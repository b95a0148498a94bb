// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', '.local/', 'coverage/', 'docs/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-control-regex': 'off', // the RFC 6749 syntax rules are written as control-range classes
    },
  },
  {
    // The protocol core must not reach for AWS: adapters live at the edges (docs/architecture.md).
    files: ['lambda/oauth/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@aws-sdk/*',
            '@aws-lambda-powertools/*',
            '../aws/*',
            '../local/*',
            '@cloud-copilot/*',
          ],
        },
      ],
    },
  },
  {
    // The IAM evaluator is AGPL-3.0: a test-only dependency, never part of what ships.
    files: ['lib/**/*.ts', 'lambda/**/*.ts', 'bin/**/*.ts', 'bench/**/*.ts'],
    ignores: ['lambda/oauth/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@cloud-copilot/*'] }] },
  },
);
