/**
 * The one synth that bundles for real (local esbuild, no Docker): each function is a minified ESM
 * bundle with a source map, the AWS SDK inside where it needs one, and only what its route imports.
 * (The custom-resource framework's own function, which CDK ships prebuilt, is not ours to check.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStack } from './stack-fixture.js';

let outdir: string;
let stackName: string;
const bundles: Record<string, { code: string; size: number; sources: string[] }> = {};

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'xaa-synth-'));
  const { app, stack } = buildStack({}, { bundle: true, outdir });
  stackName = stack.stackName;
  const template = app.synth().getStackByName(stackName).template as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key: string } } }>;
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const name = id.replace(/^AuthServer/, '').replace(/Function[0-9A-F]{8}$/, '');
    const dir = join(outdir, `asset.${r.Properties.Code!.S3Key.replace(/\.zip$/, '')}`);
    if (!existsSync(join(dir, 'index.mjs'))) continue; // CDK's prebuilt provider framework
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
      sources: string[];
    };
    bundles[name] = { code, size: statSync(join(dir, 'index.mjs')).size, sources: map.sources };
  }
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const from = (name: string, pkg: string) =>
  bundles[name]!.sources.some((s) => s.includes(`node_modules/${pkg}/`));

test('four bundles, each a minified ES module with an external source map', () => {
  expect(Object.keys(bundles).sort()).toEqual([
    'Discovery',
    'Jwks',
    'PublishedJwksPublisher',
    'Token',
  ]);
  // Booleans, not toMatch on the code: a failure must not make jest print (and diff) half a megabyte.
  for (const [name, { code }] of Object.entries(bundles)) {
    expect([
      name,
      /^import\{createRequire as \w+\}from"node:module"|^import \{ createRequire \}/.test(code),
    ]).toEqual([name, true]);
    expect([name, /export\{[\w$]+ as handler\}/.test(code)]).toEqual([name, true]);
    expect(code.length / code.split('\n').length).toBeGreaterThan(500); // minified: long lines
    expect([name, code.includes('//# sourceMappingURL=index.mjs.map')]).toEqual([name, true]);
  }
  expect(existsSync(join(outdir, `${stackName}.template.json`))).toBe(true);
});

test('the discovery bundle holds no AWS SDK client and no Powertools: only config and metadata', () => {
  expect(from('Discovery', '@aws-sdk/client-kms')).toBe(false);
  expect(bundles.Discovery!.sources.filter((s) => s.includes('node_modules/'))).toEqual([]);
  expect(bundles.Discovery!.size).toBeLessThan(20_000);
});

test('the JWKS bundle holds no AWS SDK and nothing for tokens: under 100 KB (DISC-CACHE)', () => {
  // The keys were read from KMS at deploy time (PublishedJwks): serving them needs no SDK.
  expect(bundles.Jwks!.sources.filter((s) => s.includes('node_modules/@aws-sdk/'))).toEqual([]);
  expect(bundles.Jwks!.sources.filter((s) => s.includes('node_modules/@smithy/'))).toEqual([]);
  expect(from('Jwks', '@aws-lambda-powertools/tracer')).toBe(false);
  expect(from('Jwks', 'jose')).toBe(false);
  expect(bundles.Jwks!.sources.some((s) => s.includes('lambda/oauth/token-service'))).toBe(false);
  expect(bundles.Jwks!.size).toBeLessThan(100 * 1024);
});

test('the JWKS publisher (deploy time only) holds the KMS client and nothing else of AWS', () => {
  expect(from('PublishedJwksPublisher', '@aws-sdk/client-kms')).toBe(true);
  for (const pkg of ['@aws-sdk/client-dynamodb', '@aws-sdk/client-secrets-manager']) {
    expect([pkg, from('PublishedJwksPublisher', pkg)]).toEqual([pkg, false]);
  }
});

test('the token bundle holds its three SDK clients and Powertools logger, metrics and tracer', () => {
  for (const pkg of [
    '@aws-sdk/client-kms',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/client-secrets-manager',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    '@aws-lambda-powertools/tracer',
    'jose',
  ]) {
    expect([pkg, from('Token', pkg)]).toEqual([pkg, true]);
  }
  // Secrets are read with the SDK directly (both versions of a rotation), not Powertools Parameters.
  expect(from('Token', '@aws-lambda-powertools/parameters')).toBe(false);
  // The admin's CloudFormation client and write commands are not part of any function.
  expect(from('Token', '@aws-sdk/client-cloudformation')).toBe(false);
  expect(bundles.Token!.code.includes('CreateSecretCommand')).toBe(false);
});
