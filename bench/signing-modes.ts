/**
 * (6) The two signing modes side by side: the token function's own service (createAwsTokenService,
 * the AWS SDK clients it ships with) over an AWS stub that answers in another process after the
 * modelled latencies, so the CPU measured here is the function's alone. One request at a time, as
 * a Lambda container serves them; bearer and DPoP-bound, each mode's runs alternating round by round.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { loadTokenFunctionConfig } from '../lambda/cdk-shared/aws-config.js';
import { SDK_CLIENT_CONFIG } from '../lambda/aws/sdk-config.js';
import { createAwsTokenService } from '../lambda/aws/token-service-factory.js';
import {
  publicJwkOf,
  WRAPPED_KEY_FORMAT,
  WRAPPED_KEY_SPEC,
} from '../lambda/aws/wrapped-signing-key.js';
import { createTokenHandler } from '../lambda/handlers/token.js';
import type { HttpEvent, HttpHandler } from '../lambda/http/types.js';
import { silentLog } from '../lambda/logging.js';
import { stubCounts, type AwsStubOptions, type WrappedKeyFixture } from './aws-stub.js';
import { summarize } from './stats.js';
import { minter } from './token-service.js';
import type { SigningMode } from './cost-model.js';

/** The latency model, in ms: where each figure comes from is in docs/performance.md section 6. */
export interface LatencyModel {
  readonly signMs: number;
  readonly replayMs: number;
  readonly decryptMs: number;
}

/** The stub's delays for a model, by X-Amz-Target. */
export function stubDelays(m: LatencyModel): Record<string, number> {
  return {
    'TrentService.Sign': m.signMs,
    'TrentService.Decrypt': m.decryptMs,
    'DynamoDB_20120810.PutItem': m.replayMs,
  };
}

const ISSUER = 'https://as.example.com';
const SECRET_PREFIX = 'xaa-auth-server/bench/clients/';
const CLIENT_SECRET = 'bench-secret-0123456789';
const WRAPPED_SECRET_ID = 'xaa-auth-server/bench/signing/key-1';
const WRAPPING_KEY = 'arn:aws:kms:us-east-1:123456789012:key/wrapping';
const KEY_NAME = 'XaaAuthServer-bench/Auth/signing/key-1';

/** A client record as the registry table holds it. */
export const STUB_CLIENT = {
  client_id: { S: 'bench' },
  secret_ref: { S: `${SECRET_PREFIX}bench/0` },
  scopes: { L: [{ S: 'read' }] },
  resources: { L: [{ S: 'https://api.example.com/' }] },
  enabled: { BOOL: true },
};

/** A wrapped signing key as the deploy-time function stores it; Decrypt returns the key itself. */
export async function wrappedKeyFixture(): Promise<WrappedKeyFixture & { kid: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = await publicJwkOf(privateKey);
  return {
    secretId: WRAPPED_SECRET_ID,
    kid: publicJwk.kid,
    plaintext: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    secretString: JSON.stringify({
      format: WRAPPED_KEY_FORMAT,
      keySpec: WRAPPED_KEY_SPEC,
      keyName: KEY_NAME,
      wrappingKeyArn: WRAPPING_KEY,
      publicJwk,
      // What KMS would return from Encrypt: the stub's Decrypt ignores it.
      ciphertext: Buffer.from('bench ciphertext').toString('base64'),
    }),
  };
}

/** The environment the stack gives the token function, in each mode, pointed at the stub. */
export function tokenFunctionEnv(
  stubUrl: string,
  mode: SigningMode,
  wrapped: { kid: string },
): Record<string, string> {
  return {
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: stubUrl, jwks_uri: `${stubUrl}/jwks` }]),
    CLIENTS_TABLE_NAME: 'clients',
    REPLAY_TABLE_NAME: 'replay',
    CLIENT_SECRET_PREFIX: SECRET_PREFIX,
    ...(mode === 'kms'
      ? { SIGNING_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/active' }
      : {
          SIGNING_MODE: 'wrapped-key',
          SIGNING_KEY_ID: WRAPPING_KEY,
          SIGNING_KEY_SECRET: WRAPPED_SECRET_ID,
          SIGNING_KEY_NAME: KEY_NAME,
          SIGNING_KEY_KID: wrapped.kid,
        }),
  };
}

/** The stub in a child process (bench/aws-stub.ts run as a program). */
async function startStubProcess(
  options: AwsStubOptions,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./aws-stub.ts', import.meta.url)),
      JSON.stringify(options),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const [url] = (await once(lines, 'line')) as [string];
  return { url, child };
}

export interface ModeRun {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  /** CPU time of this process per token (main thread and libuv's pool), ms. */
  readonly cpuMs: number;
  /** KMS requests per token once warm (every operation), and DynamoDB writes per token. */
  readonly kmsCallsPerToken: number;
  readonly dynamoWritesPerToken: number;
}

export type Variant = `${SigningMode}/${'bearer' | 'dpop'}`;
export const VARIANTS: readonly Variant[] = [
  'kms/bearer',
  'wrapped-key/bearer',
  'kms/dpop',
  'wrapped-key/dpop',
];

export async function signingModes(
  model: LatencyModel,
  { rounds, perRound }: { rounds: number; perRound: number },
): Promise<Record<Variant, ModeRun>> {
  const idp = await generateKeyPair('RS256', { extractable: true });
  const idpJwk = { ...(await exportJWK(idp.publicKey)), alg: 'RS256', use: 'sig' };
  const kid = await calculateJwkThumbprint(idpJwk);
  const wrapped = await wrappedKeyFixture();
  const { url, child } = await startStubProcess({
    idpJwks: { keys: [{ ...idpJwk, kid }] },
    client: STUB_CLIENT,
    secret: CLIENT_SECRET,
    wrapped,
    delays: stubDelays(model),
  });
  try {
    const clientConfig = {
      ...SDK_CLIENT_CONFIG,
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    };
    const handlers = {} as Record<
      Variant,
      { handler: HttpHandler; mint: (n: number) => Promise<HttpEvent[]> }
    >;
    for (const variant of VARIANTS) {
      const [mode, binding] = variant.split('/') as [SigningMode, string];
      // A container of its own per variant: its own SDK clients, key and caches.
      const config = loadTokenFunctionConfig(tokenFunctionEnv(url, mode, wrapped));
      const { service, warm } = createAwsTokenService(
        config,
        {
          kms: new KMSClient(clientConfig),
          dynamodb: new DynamoDBClient(clientConfig),
          secretsManager: new SecretsManagerClient(clientConfig),
        },
        { logger: silentLog },
      );
      await warm();
      handlers[variant] = {
        handler: createTokenHandler({ service, corsOrigins: [], logger: silentLog }),
        mint: await minter({
          idpKey: idp.privateKey,
          kid,
          idp: url,
          issuer: ISSUER,
          clientId: 'bench',
          secret: CLIENT_SECRET,
          dpop: binding === 'dpop',
        }),
      };
    }
    const samples = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<
      Variant,
      number[]
    >;
    const cpu = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<
      Variant,
      number[]
    >;
    const calls = Object.fromEntries(VARIANTS.map((v) => [v, { kms: 0, ddb: 0, n: 0 }])) as Record<
      Variant,
      { kms: number; ddb: number; n: number }
    >;
    // Warm-up: JIT, connections, caches (the client record and secret, the IdP's keys).
    for (const v of VARIANTS) await run(handlers[v].handler, await handlers[v].mint(20), []);
    for (let r = 0; r < rounds; r++) {
      // Each round in another order, so no variant always runs first or last.
      const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const events = await handlers[v].mint(perRound);
        const before = await stubCounts(url);
        const cpu0 = process.cpuUsage();
        await run(handlers[v].handler, events, samples[v]);
        const used = process.cpuUsage(cpu0);
        const after = await stubCounts(url);
        cpu[v].push((used.user + used.system) / 1000 / events.length);
        const delta = (prefix: string, only?: string) =>
          Object.keys(after)
            .filter((k) => k.startsWith(prefix) && (!only || k === only))
            .reduce((a, k) => a + (after[k]! - (before[k] ?? 0)), 0);
        calls[v].kms += delta('TrentService.');
        calls[v].ddb += delta('DynamoDB_', 'DynamoDB_20120810.PutItem');
        calls[v].n += events.length;
      }
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    return Object.fromEntries(
      VARIANTS.map((v) => {
        const s = summarize(samples[v]);
        const c = sorted(cpu[v]);
        return [
          v,
          {
            ...s,
            cpuMs: c[Math.floor(c.length / 2)]!,
            kmsCallsPerToken: calls[v].kms / calls[v].n,
            dynamoWritesPerToken: calls[v].ddb / calls[v].n,
          },
        ];
      }),
    ) as Record<Variant, ModeRun>;
  } finally {
    child.kill();
  }
}

async function run(handler: HttpHandler, events: HttpEvent[], samples: number[]): Promise<void> {
  for (const event of events) {
    const t0 = performance.now();
    const res = await handler(event);
    samples.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`unexpected ${res.statusCode}: ${res.body}`);
  }
}
