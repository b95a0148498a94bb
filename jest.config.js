// Jest runs the TypeScript sources as native ES modules (jose v6 is ESM-only), transpiled by swc.
// Three projects, so a quick loop can pick one (`npm run jest -- --selectProjects unit`):
//   unit  everything in-process or on loopback;
//   cdk   stack synthesis (test/lib): seconds per file, loads aws-cdk-lib;
//   moto  the AWS adapters on the wire, sharing one moto_server started for the run.
import process from 'node:process';
const project = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
};

// aws-cdk-lib checks every synthesized template with its built-in CloudFormation validator, a
// WebAssembly engine that costs ~4 s of CPU to start in each test file and more per synth: most of
// the cdk project's time. Under jest it can only warn (the flag that makes its findings errors,
// @aws-cdk/core:validateAgainstDefaultRules, is off) and no test reads those warnings; `cdk synth`
// still runs it. CDK_VALIDATION=true brings it back.
process.env.CDK_VALIDATION ??= 'false';

/** @type {import('jest').Config} */
export default {
  // Every core: the files are independent processes' worth of work (own servers, own temp dirs,
  // unique names in the shared moto_server).
  maxWorkers: '100%',
  testTimeout: 30000,
  projects: [
    {
      ...project,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/lib/', '\\.moto\\.test\\.ts$'],
    },
    {
      ...project,
      displayName: 'cdk',
      testMatch: ['<rootDir>/test/lib/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.moto\\.test\\.ts$'],
    },
    {
      ...project,
      displayName: 'moto',
      testMatch: ['<rootDir>/test/**/*.moto.test.ts'],
      globalSetup: '<rootDir>/test/support/moto-server.ts',
      globalTeardown: '<rootDir>/test/support/moto-server-teardown.ts',
    },
  ],
};
