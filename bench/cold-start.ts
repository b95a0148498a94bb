/**
 * (5) Cold start of each Lambda handler from its production bundle: the bundle esbuild makes with
 * the stack's settings, loaded by a fresh `node` process, timed from process start to the first
 * response (module load, configuration, warm-up fetches). AWS answers locally: the calls the
 * latency model of section 6 covers (KMS Sign and Decrypt, the DynamoDB write) after its delays, every
 * other call at once. The token function runs in both signing modes: in the wrapped-key mode its
 * init reads the wrapped key and pays one KMS Decrypt.
 *
 * Also (section 6): the bytes the token function writes to its log per token, from the same bundle with
 * the production log settings (Powertools at INFO, EMF metrics on).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { serializeJwks } from '../lambda/cdk-shared/published-jwks.js';
import { bundleLambdaAsync } from '../lib/lambda-bundle.js';
import { startAwsStub } from './aws-stub.js';
import {
  STUB_CLIENT,
  stubDelays,
  tokenFunctionEnv,
  wrappedKeyFixture,
  type LatencyModel,
} from './signing-modes.js';
import { median } from './stats.js';

/** `token-wrapped`: the token function's bundle in the wrapped-key signing mode. */
const FUNCTIONS = ['discovery', 'jwks', 'token', 'token-wrapped'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export interface ColdStart {
  readonly bundleBytes: number;
  /** Median, in ms, from process start to the handler's module being loaded (init included). */
  readonly initMs: number;
  /** Median, in ms, from process start to the first response. */
  readonly firstResponseMs: number;
  readonly status: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** With the stack's own bundler (lib/lambda-bundle.ts), so what is measured is what ships. */
function bundle(name: FunctionName, outdir: string): Promise<string> {
  const entry = name === 'token-wrapped' ? 'token' : name;
  return bundleLambdaAsync(join(root, 'lambda/functions', `${entry}.ts`), join(outdir, entry));
}

const RUNNER = `
const bundle = process.argv[2];
const event = JSON.parse(process.argv[3]);
const mod = await import(bundle);
const initMs = performance.now();
const res = await mod.handler(event, { functionName: 'bench', awsRequestId: 'bench', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench' });
process.stdout.write(JSON.stringify({ initMs, firstResponseMs: performance.now(), status: res.statusCode }));
process.exit(0);
`;

/** Invokes the handler once per event; prints the bytes written to stdout per invocation after the first. */
const LOG_RUNNER = `
const bundle = process.argv[2];
const events = JSON.parse(process.argv[3]);
const write = process.stdout.write.bind(process.stdout);
let bytes = 0;
process.stdout.write = (chunk, ...rest) => {
  bytes += Buffer.byteLength(chunk);
  const done = rest.find((r) => typeof r === 'function');
  if (done) done();
  return true;
};
const mod = await import(bundle);
const context = (i) => ({ functionName: 'xaa-auth-server-token', awsRequestId: '8f5e6d4c-3b2a-4190-8e7d-6c5b4a392817'.slice(0, 36 - String(i).length) + i, invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:xaa-auth-server-token', memoryLimitInMB: '512', functionVersion: '$LATEST' });
await mod.handler(events[0], context(0));
bytes = 0;
for (let i = 1; i < events.length; i++) {
  const res = await mod.handler(events[i], context(i));
  if (res.statusCode !== 200) throw new Error('status ' + res.statusCode);
}
write(JSON.stringify({ bytesPerInvocation: bytes / (events.length - 1) }));
process.exit(0);
`;

function run<T = { initMs: number; firstResponseMs: number; status: number }>(
  runner: string,
  bundlePath: string,
  event: unknown,
  env: Record<string, string>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, bundlePath, JSON.stringify(event)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('close', (code) => {
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`cold-start runner exited ${code}: ${err.slice(0, 500)}`));
      }
    });
  });
}

/** A JWKS document like the one the stack's publisher writes (lambda/aws/jwks-publisher.ts). */
async function publishedJwks(count: number): Promise<string> {
  const keys = [];
  for (let i = 0; i < count; i++) {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const { n, e } = await exportJWK(publicKey);
    const jwk = { kty: 'RSA' as const, n: n!, e: e! };
    keys.push({
      ...jwk,
      kid: await calculateJwkThumbprint(jwk),
      alg: 'RS256' as const,
      use: 'sig' as const,
    });
  }
  return serializeJwks(keys);
}

export interface ColdStarts {
  readonly functions: Record<FunctionName, ColdStart>;
  /** Bytes the token function's own log lines (and its EMF metrics) take per token. */
  readonly tokenLogBytes: number;
}

export async function coldStarts(samples: number, model: LatencyModel): Promise<ColdStarts> {
  const dir = await mkdtemp(join(tmpdir(), 'xaa-cold-'));
  try {
    const idp = await generateKeyPair('RS256', { extractable: true });
    const idpJwk = { ...(await exportJWK(idp.publicKey)), alg: 'RS256', use: 'sig' };
    const kid = await calculateJwkThumbprint(idpJwk);
    const wrapped = await wrappedKeyFixture();
    const stub = await startAwsStub({
      idpJwks: { keys: [{ ...idpJwk, kid }] },
      client: STUB_CLIENT,
      secret: 'bench-secret-0123456789',
      wrapped,
      delays: stubDelays(model),
    });
    const runner = join(dir, 'runner.mjs');
    await writeFile(runner, RUNNER);
    const logRunner = join(dir, 'log-runner.mjs');
    await writeFile(logRunner, LOG_RUNNER);
    const issuer = 'https://as.example.com';
    const common = {
      AWS_ENDPOINT_URL: stub.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // As the stack publishes it at deploy time: two keys, as during a rotation.
      PUBLISHED_JWKS: await publishedJwks(2),
    };
    const envOf = (name: FunctionName) => ({
      ...common,
      ...tokenFunctionEnv(stub.url, name === 'token-wrapped' ? 'wrapped-key' : 'kms', wrapped),
    });
    const event = (method: string, path: string, body?: string) => ({
      version: '2.0',
      routeKey: `${method} ${path}`,
      rawPath: path,
      rawQueryString: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      requestContext: {
        requestId: 'r',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      },
      isBase64Encoded: body !== undefined,
      ...(body !== undefined && { body: Buffer.from(body).toString('base64') }),
    });
    let serial = 0;
    const tokenEvent = async () => {
      const now = Math.floor(Date.now() / 1000);
      const jag = await new SignJWT({
        iss: stub.url,
        sub: 'alice',
        aud: issuer,
        client_id: 'bench',
        jti: `cold-${serial++}-${now}`,
        iat: now,
        exp: now + 300,
        scope: 'read',
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid })
        .sign(idp.privateKey);
      return event(
        'POST',
        '/token',
        new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: jag,
          client_id: 'bench',
          client_secret: 'bench-secret-0123456789',
        }).toString(),
      );
    };
    const results = {} as Record<FunctionName, ColdStart>;
    let tokenPath = '';
    for (const name of FUNCTIONS) {
      const path = await bundle(name, dir);
      if (name === 'token') tokenPath = path;
      const runs = [];
      for (let i = 0; i < samples; i++) {
        let ev;
        if (name === 'token' || name === 'token-wrapped') {
          ev = await tokenEvent();
        } else {
          ev = event(
            'GET',
            name === 'jwks' ? '/.well-known/jwks.json' : '/.well-known/openid-configuration',
          );
        }
        runs.push(await run(runner, path, ev, envOf(name)));
      }
      results[name] = {
        bundleBytes: (await stat(path)).size,
        initMs: median(runs, (r) => r.initMs).initMs,
        firstResponseMs: median(runs, (r) => r.firstResponseMs).firstResponseMs,
        status: runs[0]!.status,
      };
    }
    // The production log settings: the stack sets no log level (Powertools' default, INFO) and
    // publishes EMF metrics.
    const {
      POWERTOOLS_LOG_LEVEL: _level,
      POWERTOOLS_METRICS_DISABLED: _metrics,
      ...logEnv
    } = envOf('token');
    const events = await Promise.all(Array.from({ length: 21 }, tokenEvent));
    const { bytesPerInvocation } = await run<{ bytesPerInvocation: number }>(
      logRunner,
      tokenPath,
      events,
      { ...logEnv, METRICS_NAMESPACE: 'XaaAuthServer' },
    );
    stub.server.close();
    return { functions: results, tokenLogBytes: bytesPerInvocation };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
