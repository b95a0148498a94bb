/**
 * The Lambda entry modules as Lambda loads them: configuration from the environment, SDK clients at
 * module scope (KMS, DynamoDB and Secrets Manager mocked at the class), Powertools logs and metrics
 * on stdout.
 */
import { createPublicKey } from 'node:crypto';
import { rsaKeyPair, rsaPrivateKey } from '../support/test-keys.js';
import type { Context } from 'aws-lambda';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { serializeJwks, type PublishedJwk } from '../../lambda/cdk-shared/published-jwks.js';
import { CLIENTS_TABLE } from '../../lambda/cdk-shared/tables.js';
import type { LambdaHttpHandler } from '../../lambda/aws/instrumented.js';
import type { HttpHandler } from '../../lambda/http/types.js';
import { httpEvent, tokenEvent } from '../support/events.js';
import { bodyOf, ISSUER, RESOURCE } from '../support/harness.js';
import { TestIdp } from '../support/test-idp.js';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555';
const SECRET = 'entry-test-client-secret-0123';
const keyPair = rsaKeyPair();
const PUBLISHED: PublishedJwk[] = ['k1', 'k2'].map((kid) => {
  const { n, e } = createPublicKey(rsaPrivateKey()).export({
    format: 'jwk',
  });
  return { kty: 'RSA', n: n!, e: e!, kid, alg: 'RS256', use: 'sig' };
});

const kms = mockClient(KMSClient);
const dynamodb = mockClient(DynamoDBClient);
const secretsManager = mockClient(SecretsManagerClient);
let idp: TestIdp;
let savedEnv: NodeJS.ProcessEnv;
let stdout: string[];
const realWrite = process.stdout.write.bind(process.stdout);

const context = {
  functionName: 'token-fn',
  awsRequestId: 'lambda-req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:token-fn',
} as Context;

beforeAll(async () => {
  idp = await TestIdp.start();
  savedEnv = { ...process.env };
  Object.assign(process.env, {
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
    CORS_ORIGINS: 'https://app.example.com',
    CLIENTS_TABLE_NAME: 'clients',
    REPLAY_TABLE_NAME: 'replay',
    CLIENT_SECRET_PREFIX: 'xaa-auth-server/T/clients/',
    SIGNING_KEY_ID: KEY_ARN,
    METRICS_NAMESPACE: 'EntryTest',
    AWS_REGION: 'us-east-1',
    PUBLISHED_JWKS: serializeJwks(PUBLISHED),
  });
  kms.on(GetPublicKeyCommand).resolves({
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
    PublicKey: new Uint8Array(keyPair.publicKey.export({ type: 'spki', format: 'der' })),
  });
  kms.on(SignCommand).resolves({ Signature: new Uint8Array(256) });
  dynamodb.on(GetItemCommand).resolves({
    Item: {
      [CLIENTS_TABLE.partitionKey]: { S: 'acme' },
      secret_ref: { S: 'xaa-auth-server/T/clients/acme/1' },
      scopes: { L: [{ S: 'read' }] },
      resources: { L: [{ S: RESOURCE }] },
      enabled: { BOOL: true },
    },
  });
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(DeleteItemCommand).resolves({});
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
});
beforeEach(() => {
  stdout = [];
  // Powertools writes log lines and EMF metrics to stdout: capture them.
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
});
afterEach(() => {
  process.stdout.write = realWrite;
});
afterAll(async () => {
  process.env = savedEnv;
  kms.restore();
  dynamodb.restore();
  secretsManager.restore();
  await idp.stop();
});

const jsonLines = () =>
  stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('discovery: the metadata for the issuer in the environment', async () => {
  const { handler } = (await import('../../lambda/functions/discovery.js')) as {
    handler: HttpHandler;
  };
  const res = await handler(httpEvent('GET', '/.well-known/openid-configuration'));
  expect(res.statusCode).toBe(200);
  expect(bodyOf(res)).toMatchObject({
    issuer: ISSUER,
    jwks_uri: `${ISSUER}/.well-known/jwks.json`,
    token_endpoint: `${ISSUER}/token`,
  });
});

test('discovery: also answers {issuer}/authorize, with the error and never a redirect (DISC-AUTHZ-ENDPOINT)', async () => {
  const { handler } = (await import('../../lambda/functions/discovery.js')) as {
    handler: HttpHandler;
  };
  const res = await handler(httpEvent('GET', '/authorize'));
  expect(res.statusCode).toBe(400);
  expect(bodyOf(res).error).toBe('unsupported_response_type');
  expect(res.headers.location).toBeUndefined();
});

test('jwks: serves the JWKS published at deploy time, with no AWS call at start-up or per request', async () => {
  kms.resetHistory();
  const { handler } = (await import('../../lambda/functions/jwks.js')) as {
    handler: LambdaHttpHandler;
  };
  const get = () =>
    handler(
      httpEvent('GET', '/.well-known/jwks.json', {
        headers: { origin: 'https://app.example.com' },
      }),
      context,
    );
  const res = await get();
  expect(res.statusCode).toBe(200);
  expect(bodyOf(res)).toEqual({ keys: PUBLISHED });
  expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
  // A receiver that changes its copy changes nobody else's.
  (bodyOf(res).keys as Array<{ kid: string }>)[0]!.kid = 'tampered';
  expect(bodyOf(await get())).toEqual({ keys: PUBLISHED });
  expect(kms.calls()).toHaveLength(0);
});

test('token: issues through the module-scope clients; logs the outcome with request ids and emits metrics', async () => {
  const { handler } = (await import('../../lambda/functions/token.js')) as {
    handler: LambdaHttpHandler;
  };
  const assertion = await idp.mint({
    audience: ISSUER,
    clientId: 'acme',
    now: Math.floor(Date.now() / 1000),
  });
  const res = await handler(
    tokenEvent({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
      client_id: 'acme',
      client_secret: SECRET,
    }),
    context,
  );
  expect(res.statusCode).toBe(200);
  const token = bodyOf(res).access_token as string;

  const lines = jsonLines();
  const outcome = lines.find((l) => l.message === 'token issued');
  expect(outcome).toMatchObject({
    level: 'INFO',
    outcome: 'issued',
    clientId: 'acme',
    issuer: idp.issuer,
    scope: 'read',
  });
  expect(outcome).toMatchObject({ function_request_id: 'lambda-req-1', api_request_id: 'req-1' });
  const metrics = lines.find((l) => l._aws !== undefined);
  expect(metrics).toMatchObject({ TokensIssued: 1, TokenRequests: 1 });
  expect(JSON.stringify(metrics)).toContain('EntryTest');
  const all = stdout.join('');
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(token);
  expect(all).not.toContain(assertion);
});

test('token: a refusal is logged with its error and reason codes and counted by them', async () => {
  const { handler } = (await import('../../lambda/functions/token.js')) as {
    handler: LambdaHttpHandler;
  };
  const assertion = await idp.mint({ audience: ISSUER, clientId: 'acme' });
  const event = tokenEvent({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion,
    client_id: 'acme',
    client_secret: 'wrong-secret-wrong-secret',
  });
  event.requestContext.requestId = 'req-2';
  const res = await handler(event, { ...context, awsRequestId: 'lambda-req-2' });
  expect(res.statusCode).toBe(401);
  const lines = jsonLines();
  expect(lines.find((l) => l.message === 'token refused')).toMatchObject({
    outcome: 'refused',
    error: 'invalid_client',
    reason: 'secret_mismatch',
    clientId: 'acme',
  });
  const refusals = lines.filter((l) => l.TokenRequestsRefused === 1);
  // Once by error and reason (graphs), once by error alone (the invalid_client alarm).
  expect(refusals).toEqual([
    expect.objectContaining({ error: 'invalid_client', reason: 'secret_mismatch' }),
    expect.not.objectContaining({ reason: expect.anything() }),
  ]);
  expect(refusals[1]).toMatchObject({ error: 'invalid_client' });
  expect(stdout.join('')).not.toContain('wrong-secret-wrong-secret');
  // This invocation's lines carry its own ids, none of the previous one's.
  expect(lines.find((l) => l.message === 'token refused')).toMatchObject({
    api_request_id: 'req-2',
    function_request_id: 'lambda-req-2',
  });
  expect(stdout.join('')).not.toMatch(/"(req-1|lambda-req-1)"/);
});
