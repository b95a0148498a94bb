/**
 * (5) Cold start of each Lambda handler from its production bundle: the bundle esbuild makes with
 * the stack's settings, loaded by a fresh `node` process, timed from process start to the first
 * response (module load, configuration, warm-up fetches); AWS answers locally at zero latency.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { serializeJwks } from '../lambda/aws/published-jwks.js';
import { bundleLambdaAsync } from '../lib/lambda-bundle.js';
import { startAwsStub } from './aws-stub.js';
import { median } from './stats.js';

const FUNCTIONS = ['discovery', 'jwks', 'token'] as const;
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
  return bundleLambdaAsync(join(root, 'lambda/aws/entries', `${name}.ts`), join(outdir, name));
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

function run(
  runner: string,
  bundlePath: string,
  event: unknown,
  env: Record<string, string>,
): Promise<{ initMs: number; firstResponseMs: number; status: number }> {
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
        resolve(JSON.parse(out) as { initMs: number; firstResponseMs: number; status: number });
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

export async function coldStarts(samples: number): Promise<Record<FunctionName, ColdStart>> {
  const dir = await mkdtemp(join(tmpdir(), 'xaa-cold-'));
  try {
    const idp = await generateKeyPair('RS256', { extractable: true });
    const idpJwk = { ...(await exportJWK(idp.publicKey)), alg: 'RS256', use: 'sig' };
    const kid = await calculateJwkThumbprint(idpJwk);
    const prefix = 'xaa-auth-server/bench/clients/';
    const client = {
      client_id: { S: 'bench' },
      secret_ref: { S: `${prefix}bench/0` },
      scopes: { L: [{ S: 'read' }] },
      resources: { L: [{ S: 'https://api.example.com/' }] },
      enabled: { BOOL: true },
    };
    const stub = await startAwsStub({
      idpJwks: { keys: [{ ...idpJwk, kid }] },
      client,
      secret: 'bench-secret-0123456789',
    });
    const runner = join(dir, 'runner.mjs');
    await writeFile(runner, RUNNER);
    const issuer = 'https://as.example.com';
    const env = {
      AWS_ENDPOINT_URL: stub.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ISSUER: issuer,
      TRUSTED_ISSUERS: JSON.stringify([{ issuer: stub.url, jwks_uri: `${stub.url}/jwks` }]),
      CLIENTS_TABLE_NAME: 'clients',
      REPLAY_TABLE_NAME: 'replay',
      CLIENT_SECRET_PREFIX: prefix,
      SIGNING_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/active',
      // As the stack publishes it at deploy time: two keys, as during a rotation.
      PUBLISHED_JWKS: await publishedJwks(2),
    };
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
    const results = {} as Record<FunctionName, ColdStart>;
    for (const name of FUNCTIONS) {
      const path = await bundle(name, dir);
      const runs = [];
      for (let i = 0; i < samples; i++) {
        let ev;
        if (name === 'token') {
          const now = Math.floor(Date.now() / 1000);
          const jag = await new SignJWT({
            iss: stub.url,
            sub: 'alice',
            aud: issuer,
            client_id: 'bench',
            jti: `cold-${i}-${now}`,
            iat: now,
            exp: now + 300,
            scope: 'read',
          })
            .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid })
            .sign(idp.privateKey);
          ev = event(
            'POST',
            '/token',
            new URLSearchParams({
              grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
              assertion: jag,
              client_id: 'bench',
              client_secret: 'bench-secret-0123456789',
            }).toString(),
          );
        } else {
          ev = event(
            'GET',
            name === 'jwks' ? '/.well-known/jwks.json' : '/.well-known/openid-configuration',
          );
        }
        runs.push(await run(runner, path, ev, env));
      }
      results[name] = {
        bundleBytes: (await stat(path)).size,
        initMs: median(runs, (r) => r.initMs).initMs,
        firstResponseMs: median(runs, (r) => r.firstResponseMs).firstResponseMs,
        status: runs[0]!.status,
      };
    }
    stub.server.close();
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
