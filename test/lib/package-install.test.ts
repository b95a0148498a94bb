/**
 * The construct as a CDK user gets it: `npm pack` in the repository, the tarball installed into a
 * fresh TypeScript app outside it (CommonJS, as `cdk init app --language typescript` makes it),
 * compiled with the repository's tsc, and synthesized by plain `node` with bundling on, `env`
 * pinned and cdk-nag's AwsSolutions checks. The functions must come prebuilt from the package: the
 * app has no esbuild and no Docker. (CDK's CloudFormation validator stays off, as jest.config.js
 * sets it for every synth in the suite.)
 *
 * Offline: the packages a registry would supply (the peers, the package's dependencies, cdk-nag)
 * are `file:` links to this repository's node_modules, and npm runs with `offline`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const tarballName = `${pkg.name}-${pkg.version}.tgz`;

/** The app the README shows under "In your own CDK app", word for word. */
const APP = `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { XaaAuthorizationServer } from 'xaa-auth-server';

const app = new App();
const stack = new Stack(app, 'Auth', { env: { account: '111122223333', region: 'eu-west-1' } });
const auth = new XaaAuthorizationServer(stack, 'Server', {
  trustedIssuers: [
    {
      issuer: 'https://login.example.com',
      jwksUri: 'https://login.example.com/jwks',
      subjectPrefix: 'login|',
    },
    {
      issuer: 'https://idp.partner.example',
      jwksUri: 'https://idp.partner.example/jwks.json',
      subjectPrefix: 'partner|',
    },
  ],
});
// auth.issuer, auth.jwksUri, auth.tokenEndpoint, auth.jwtAuthorizer('Api', 'https://api.example.com/')
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

/** Every function the package can deploy (the README's app has four of its six), so each must be prebuilt. */
const EVERY_FUNCTION = `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { XaaAuthorizationServer } from 'xaa-auth-server';

const app = new App();
const stack = new Stack(app, 'Every', { env: { account: '111122223333', region: 'us-east-1' } });
new XaaAuthorizationServer(stack, 'Server', {
  trustedIssuers: [{ issuer: 'https://login.example.com', jwksUri: 'https://login.example.com/jwks' }],
  sampleResource: true,
  edgeProtection: true,
  // One key of each signing mode: the wrapped key's generator is deployed too.
  signingKeys: [{ id: 'kms-key' }, { id: 'wrapped-key', active: true, signing: 'wrapped-key' }],
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

/**
 * The compiler options of a `cdk init app --language typescript` app, whose package.json has no
 * "type": CommonJS. It emits JavaScript beside the sources for plain `node`, so that loading the
 * ES-module package is Node's own require(), not a TypeScript runner's.
 */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    strict: true,
    skipLibCheck: true,
    isolatedModules: true,
    types: [],
  },
  exclude: ['node_modules', 'cdk.out'],
};

/**
 * The environment of a child: none of the npm variables of the `npm run jest` around us (one of
 * them, npm_config_local_prefix, names this repository), npm offline.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
  );
  return {
    ...env,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = childEnv(),
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out}`)),
    );
  });
}

type Template = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};
type NagReport = {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: Array<{ ruleName: string; severity: string }>;
  }>;
};

let tmp: string;
let app: string;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'xaa-package-'));
  // `npm pack` runs prepack, `npm run build`: the package is what the repository builds now.
  await run('npm', ['pack'], repo, childEnv({ npm_config_pack_destination: tmp }));

  app = join(tmp, 'my-app');
  mkdirSync(join(app, 'bin'), { recursive: true });
  const fromRepo = (name: string) => [name, `file:${join(repo, 'node_modules', name)}`];
  const registry = [
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.dependencies ?? {}),
    'cdk-nag',
  ];
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'my-app',
      version: '0.1.0',
      private: true,
      dependencies: Object.fromEntries(registry.map(fromRepo)),
    }),
  );
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  writeFileSync(join(app, 'bin/app.ts'), APP);
  writeFileSync(join(app, 'bin/every-function.ts'), EVERY_FUNCTION);
  // As the README has it.
  await run('npm', ['install', join(tmp, tarballName)], app);
  await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  // Both apps in one process, one after the other (each App reads CDK_OUTDIR when it is made):
  // aws-cdk-lib and the package load once, which is most of a synth's time here.
  const both = ['app', 'every-function']
    .map(
      (name) =>
        `process.env.CDK_OUTDIR = ${JSON.stringify(join(app, name))}; require('./bin/${name}.js');`,
    )
    .join(' ');
  await run(process.execPath, ['-e', both], app);
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const installed = () => join(app, 'node_modules', pkg.name);

/** Each of our functions' code asset, by function logical id, as the prebuilt bundle it copies. */
function functionBundles(outdir: string, stack: string): Record<string, string> {
  const template = JSON.parse(
    readFileSync(join(outdir, `${stack}.template.json`), 'utf8'),
  ) as Template;
  const bundles = join(installed(), 'dist/bundles');
  const byHash = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name === 'index.mjs') byHash.set(sha(join(dir, e.name)), relative(bundles, dir));
    }
  };
  walk(bundles);
  const found: Record<string, string> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    // CDK's own custom-resource framework, which it ships prebuilt.
    if (r.Properties.Handler === 'framework.onEvent') continue;
    expect([id, r.Properties.Handler, r.Properties.Runtime]).toEqual([
      id,
      'index.handler',
      'nodejs22.x',
    ]);
    const key = (r.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const asset = join(outdir, `asset.${key}`);
    expect([id, readdirSync(asset).sort()]).toEqual([id, ['index.mjs', 'index.mjs.map']]);
    found[id] = byHash.get(sha(join(asset, 'index.mjs'))) ?? `not a prebuilt bundle: ${asset}`;
  }
  return found;
}

function unacknowledgedErrors(outdir: string) {
  const report = JSON.parse(
    readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
  ) as NagReport;
  const nag = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
  expect(nag).toBeDefined();
  return nag!.violations.filter((v) => v.severity === 'error').map((v) => v.ruleName);
}

test('the package holds JavaScript, declarations and the prebuilt bundles; no TypeScript source, no esbuild', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(dir, e.name));
      else files.push(relative(installed(), join(dir, e.name)));
  };
  walk(installed());
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  expect(files).toContain('dist/lib/index.js');
  expect(files).toContain('dist/lib/index.d.ts');
  expect(files.filter((f) => f.startsWith('dist/bundles/')).sort()).toEqual(
    [
      'example-resources/sample/lambda',
      'functions/discovery',
      'functions/jwks',
      'functions/jwks-publisher',
      'functions/origin-verify',
      'functions/token',
      'functions/wrapped-key-generator',
    ]
      .flatMap((e) => [`dist/bundles/${e}/index.mjs`, `dist/bundles/${e}/index.mjs.map`])
      .sort(),
  );
  // Nothing in the app could bundle: the code assets below can only be the prebuilt ones.
  expect(existsSync(join(app, 'node_modules/esbuild'))).toBe(false);
});

test('the README app (env pinned, two IdPs) synthesizes with its functions from the prebuilt bundles, cdk-nag clean', () => {
  const outdir = join(app, 'app');
  expect(Object.values(functionBundles(outdir, 'Auth')).sort()).toEqual([
    'functions/discovery',
    'functions/jwks',
    'functions/jwks-publisher',
    'functions/token',
  ]);
  expect(unacknowledgedErrors(outdir)).toEqual([]);
});

test('every function the package can deploy is prebuilt (sample resource, edge protection)', () => {
  const outdir = join(app, 'every-function');
  expect(Object.values(functionBundles(outdir, 'Every')).sort()).toEqual([
    'example-resources/sample/lambda',
    'functions/discovery',
    'functions/jwks',
    'functions/jwks-publisher',
    'functions/origin-verify',
    'functions/token',
    'functions/wrapped-key-generator',
  ]);
  expect(unacknowledgedErrors(outdir)).toEqual([]);
});

test('the README shows the app and the install word for word', () => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('In your own CDK app'));
  expect(section).toContain('\nnpm pack ');
  expect(section).toMatch(
    new RegExp(`\\nnpm install \\S+/${tarballName.replace(/\./g, '\\.')}\\n`),
  );
  expect(section).toContain(APP);
});
