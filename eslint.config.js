// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const WHY = 'the layout forbids it (docs/architecture.md, "Folders")';

/**
 * A relative import of one of `folders`, from any depth and by any way down (straight to it, or
 * climbing to the root and back down through lambda/): folder names are unique across the tree,
 * so a name anywhere in the path says which folder is meant.
 */
const into = (...folders) => ({
  regex: `^(\\.{1,2}/)+([\\w.-]+/)*(${folders.join('|')})(/|$)`,
  message: WHY,
});

/** Of the modules at lambda/'s top, only these (ports and config, say), by their file names. */
const onlyTopLevel = (...modules) => ({
  regex: `^\\.\\./(?!(${modules.map((m) => m.replace('.', '\\.')).join('|')})$)[\\w-]+\\.js$`,
  message: WHY,
});

/** The IAM evaluator is AGPL-3.0: a test-only dependency, never part of what ships. */
const AGPL = { group: ['@cloud-copilot/*'], message: 'AGPL-3.0: test-only' };

/** What no code a function runs may import: the other runtimes and the tools around them. */
const NOT_ON_LAMBDA = into('local', 'lib', 'bin', 'examples', 'bench', 'test');

/** The protocol is pure: no AWS, no Powertools; adapters live at the edges. */
const NO_AWS = { group: ['@aws-sdk/*', '@aws-lambda-powertools/*'], message: WHY };

/**
 * lib/ reads from lambda/ only what the stack and the functions must agree on: lambda/cdk-shared/,
 * and the server's own configuration, routes, reason codes and origin header.
 */
const LIB_READS = {
  regex:
    '^(\\.\\./)+lambda/(?!cdk-shared/|config\\.js$|oauth/(metadata|errors)\\.js$|aws/origin-verify\\.js$)',
  message: `lib/ may read lambda/cdk-shared/ and the few modules listed here: ${WHY}`,
};

/** lambda/cdk-shared/ ships in the package, whose only dependency is zod: no other package. */
const NO_PACKAGE = {
  regex: '^(?!node:|\\.|zod$)',
  message: `the package does not carry it: ${WHY}`,
};

/** [files, forbidden imports], from the general to the particular (a later block wins). */
const LAYOUT = [
  [['lambda/**/*.ts'], [NOT_ON_LAMBDA, into('functions', 'example-resources')]],
  [['lambda/functions/**/*.ts'], [NOT_ON_LAMBDA, into('example-resources')]],
  [
    ['lambda/*.ts', 'lambda/handlers/**/*.ts', 'lambda/http/**/*.ts', 'lambda/remote/**/*.ts'],
    [NOT_ON_LAMBDA, into('functions', 'example-resources', 'aws')],
  ],
  [
    ['lambda/oauth/**/*.ts'],
    [
      NOT_ON_LAMBDA,
      into('functions', 'example-resources', 'aws', 'remote', 'handlers', 'http', 'cdk-shared'),
      onlyTopLevel('ports.js', 'config.js'),
      NO_AWS,
    ],
  ],
  [
    ['lambda/cdk-shared/**/*.ts'],
    [
      NOT_ON_LAMBDA,
      into('functions', 'example-resources', 'aws', 'remote', 'handlers', 'http', 'oauth'),
      onlyTopLevel('config.js'),
      NO_PACKAGE,
    ],
  ],
  [
    ['lambda/example-resources/**/*.ts'],
    [NOT_ON_LAMBDA, into('functions', 'aws', 'remote', 'handlers')],
  ],
  [
    ['local/**/*.ts'],
    [
      into(
        'lib',
        'bin',
        'examples',
        'bench',
        'test',
        'lambda/functions',
        'lambda/example-resources',
      ),
    ],
  ],
  [['lib/**/*.ts'], [into('local', 'bin', 'examples', 'bench', 'test'), LIB_READS]],
  [['bin/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'], [into('test')]],
];

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
  // The layout (docs/architecture.md, "Folders"): what each folder may import. Flat config gives
  // a file the options of the last block that matches it, so each block lists all its patterns.
  ...LAYOUT.map(([files, patterns]) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: [AGPL, ...patterns] }] },
  })),
);
