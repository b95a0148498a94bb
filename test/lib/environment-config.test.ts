/**
 * config/NAME.json: the shipped files and a file a user adds synthesize; a mistake stops the synth
 * with a message naming the file and the key; the retired -c settings are refused, not ignored.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext } from '../../lib/app-context.js';
import { CONFIG_DIR, loadEnvironmentConfig } from '../../lib/environment-config.js';
import { XaaConfigError } from '../../lib/server-props.js';
import { XaaAuthServerStack, stackNameFor } from '../../lib/xaa-auth-server-stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = JSON.parse(
  readFileSync(join(CONFIG_DIR, 'example-production.json'), 'utf8'),
) as Record<string, unknown>;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xaa-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes config/NAME.json into the temporary directory and loads it. */
function load(content: unknown, name = 'staging') {
  writeFileSync(
    join(dir, `${name}.json`),
    typeof content === 'string' ? content : JSON.stringify(content),
  );
  return loadEnvironmentConfig(name, dir);
}

function refusal(content: unknown): string {
  try {
    load(content);
  } catch (err) {
    expect(err).toBeInstanceOf(XaaConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the file to be refused');
}

function synth(context: Record<string, unknown>, configDir = CONFIG_DIR): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const environment = configFromContext(app.node, configDir);
  const stack = new XaaAuthServerStack(app, stackNameFor(environment.name), { environment });
  return Template.fromStack(stack);
}

test('every shipped file synthesizes; without -c config the playground is built', () => {
  const shipped = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json'));
  expect(shipped.sort()).toEqual(['example-production.json', 'playground.json']);
  for (const file of shipped) synth({ config: file.replace(/\.json$/, '') });
  const t = synth({});
  const env = Object.values(t.findResources('AWS::Lambda::Function')).map(
    (f) =>
      (f as { Properties: { Environment?: { Variables: Record<string, unknown> } } }).Properties,
  );
  expect(JSON.stringify(env)).toContain('https://idp.xaa.dev');
});

test('a file the user adds synthesizes under its own stack name, trusting only what it lists', () => {
  copyFileSync(join(CONFIG_DIR, 'example-production.json'), join(dir, 'staging.json'));
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], config: 'staging' },
  });
  const environment = configFromContext(app.node, dir);
  const stack = new XaaAuthServerStack(app, stackNameFor(environment.name), { environment });
  expect(stack.stackName).toBe('XaaAuthServer-staging');
  expect(stack.terminationProtection).toBe(true);
  const text = JSON.stringify(Template.fromStack(stack).toJSON());
  expect(text).toContain('https://login.example.com');
  expect(text).not.toContain('idp.xaa.dev');
});

test('"//" comments are allowed in any object and ignored', () => {
  const { props } = load({
    '//': ['a file may explain itself'],
    trustedIssuers: [
      { '//': 'here too', issuer: 'https://i.example', jwksUri: 'https://i.example/k' },
    ],
    throttle: { '//': 'and here', rateLimit: 5 },
  });
  expect(props.trustedIssuers).toEqual([
    { issuer: 'https://i.example', jwksUri: 'https://i.example/k' },
  ]);
  expect(props.throttle).toEqual({ rateLimit: 5 });
});

test('durations are seconds and removal policies words', () => {
  const { props } = load(EXAMPLE);
  expect(props.accessTokenLifetime?.toSeconds()).toBe(900);
  expect(props.clockSkew?.toSeconds()).toBe(30);
  expect(props.trustedIssuers[0]!.maxAssertionLifetime?.toSeconds()).toBe(300);
  expect(props.removalPolicies).toEqual({ clientsTable: 'retain', auditLogs: 'retain' });
});

const issuer = { issuer: 'https://i.example', jwksUri: 'https://i.example/k' };

test.each<[string, unknown, RegExp]>([
  [
    'a misspelled key',
    { trustedIssuers: [issuer], accessTokenTTL: 60 },
    /accessTokenTTL: unknown key \(did you mean "accessTokenLifetime"\?\)/,
  ],
  [
    'the old context name',
    { trustedIssuer: [issuer] },
    /trustedIssuer: unknown key \(did you mean "trustedIssuers"\?\)/,
  ],
  [
    'a snake_case member',
    { trustedIssuers: [{ issuer: 'https://i.example', jwks_uri: 'x' }] },
    /trustedIssuers\[0\]\.jwks_uri: unknown key \(did you mean "jwksUri"\?\)/,
  ],
  [
    'an unknown nested key',
    { trustedIssuers: [issuer], throttle: { rate: 1 } },
    /throttle\.rate: unknown key/,
  ],
  ['no trustedIssuers', { corsOrigins: [] }, /trustedIssuers: is required/],
  ['an empty trustedIssuers', { trustedIssuers: [] }, /trustedIssuers: .*at least one IdP/],
  [
    'a string for seconds',
    { trustedIssuers: [issuer], accessTokenLifetime: '1h' },
    /accessTokenLifetime: .*expected number, received string/,
  ],
  [
    'a fraction of a second',
    { trustedIssuers: [issuer], clockSkew: 1.5 },
    /clockSkew: .*expected int/,
  ],
  [
    'an http IdP',
    { trustedIssuers: [{ issuer: 'http://i.example', jwksUri: 'https://i.example/k' }] },
    /trustedIssuers\[0\]\.issuer: must use https/,
  ],
  [
    'an origin with a path',
    { trustedIssuers: [issuer], corsOrigins: ['https://app.example/'] },
    /corsOrigins: .*not an origin/,
  ],
  [
    'a lifetime above the cap',
    { trustedIssuers: [issuer], accessTokenLifetime: 7200, maxAccessTokenLifetime: 3600 },
    /accessTokenLifetime: must not exceed maxAccessTokenLifetime/,
  ],
  [
    'two active keys',
    {
      trustedIssuers: [issuer],
      signingKeys: [
        { id: 'a', active: true },
        { id: 'b', active: true },
      ],
    },
    /signingKeys: must mark exactly one key active, found 2/,
  ],
  [
    'a key id with a slash',
    { trustedIssuers: [issuer], signingKeys: [{ id: 'a/b', active: true }] },
    /signingKeys\[0\]\.id: must be 1-32 characters/,
  ],
  [
    'a retention CloudWatch lacks',
    { trustedIssuers: [issuer], logRetention: 10 },
    /logRetention: must be a number of days CloudWatch Logs offers: 1, 3, 5, 7, 14, 30/,
  ],
  [
    'an unknown removal policy',
    { trustedIssuers: [issuer], removalPolicies: { auditLogs: 'keep' } },
    /removalPolicies\.auditLogs: /,
  ],
  [
    'a custom domain with a scheme',
    {
      trustedIssuers: [issuer],
      customDomain: { domainName: 'https://a.example.com', certificateArn: 'x' },
    },
    /customDomain\.domainName: must be a lowercase host name/,
  ],
  [
    'our own issuer trusted',
    {
      trustedIssuers: [
        { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/k' },
      ],
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      },
    },
    /trustedIssuers\[0\]\.issuer: names this server's own issuer/,
  ],
  [
    'two IdPs without prefixes',
    { trustedIssuers: [issuer, { issuer: 'https://j.example', jwksUri: 'https://j.example/k' }] },
    /trustedIssuers\[0\]\.subjectPrefix: is required/,
  ],
  [
    'a comment that is not text',
    { '//': 42, trustedIssuers: [issuer] },
    /\/\/: a comment is a string or an array of strings/,
  ],
  [
    'a sample resource over http',
    { trustedIssuers: [issuer], sampleResource: { resource: 'http://api.example/' } },
    /sampleResource\.resource: must be an https URI/,
  ],
  [
    'a table name with spaces',
    { trustedIssuers: [issuer], existingClientsTableName: 'my table' },
    /existingClientsTableName: must be a DynamoDB table name/,
  ],
])('%s is refused, naming the file and the key', (_, content, message) => {
  const text = refusal(content);
  expect(text).toContain(join(dir, 'staging.json'));
  expect(text).toMatch(message);
});

test('a file that is not JSON, an unknown environment, a bad environment name', () => {
  expect(refusal('{"trustedIssuers": [')).toMatch(/staging\.json: is not valid JSON/);
  expect(() => loadEnvironmentConfig('nowhere', dir)).toThrow(
    /config: no file .*nowhere\.json for environment "nowhere" \(known: staging\)/,
  );
  expect(() => loadEnvironmentConfig('../etc/passwd', dir)).toThrow(/is not an environment name/);
});

test.each(['trustedIssuers', 'accessTokenTtl', 'stackName', 'logRetentionDays'])(
  'the retired context key -c %s stops the synth with where the setting lives now',
  (key) => {
    const app = new App({ context: { [key]: 'x' } });
    expect(() => configFromContext(app.node)).toThrow(
      new RegExp(`-c ${key}: settings are no longer read from CDK context; put it in config/`),
    );
  },
);

test('bin/app.ts: -c config=NAME picks the file; a bad file stops the real app with its key', () => {
  const name = `user-added-${process.pid}`;
  const file = join(CONFIG_DIR, `${name}.json`);
  const outdir = join(dir, 'cdk.out');
  const run = (config: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/app.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ config, 'aws:cdk:bundling-stacks': [] }),
      },
    });
  try {
    writeFileSync(file, JSON.stringify({ ...EXAMPLE, customDomain: undefined }));
    const ok = run(name);
    expect([ok.status, ok.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    expect(readdirSync(outdir)).toContain(`XaaAuthServer-${name}.template.json`);

    writeFileSync(file, JSON.stringify({ ...EXAMPLE, accessTokenTTL: 60 }));
    const bad = run(name);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain(`${name}.json: accessTokenTTL: unknown key`);
  } finally {
    rmSync(file, { force: true });
  }
}, 180_000);

test('a refusal from a file carries the file, the key and the problem as fields', () => {
  let error: unknown;
  try {
    load({ trustedIssuers: [issuer], clientSecretPrefix: 'mine' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(XaaConfigError);
  const { file, key, problem } = error as XaaConfigError;
  expect({ file, key }).toEqual({ file: join(dir, 'staging.json'), key: 'clientSecretPrefix' });
  expect((error as Error).message).toBe(`${file}: ${key}: ${problem}`);
});
