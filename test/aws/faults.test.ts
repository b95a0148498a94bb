/**
 * Faults injected into the AWS SDK clients (aws-sdk-client-mock): a throttled KMS, a failing
 * DynamoDB, an erroring or timing-out Secrets Manager. Each reaches the client as a 503
 * temporarily_unavailable with no token and no stack trace.
 */
import { createPublicKey } from 'node:crypto';
import { rsaPrivateKey } from '../support/test-keys.js';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetPublicKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  InternalServiceError,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { loadTokenFunctionConfig } from '../../lambda/cdk-shared/aws-config.js';
import { KmsPublicKeys } from '../../lambda/aws/kms-public-keys.js';
import { createAwsTokenService } from '../../lambda/aws/token-service-factory.js';
import { CLIENTS_TABLE } from '../../lambda/cdk-shared/tables.js';
import { createJwksHandler } from '../../lambda/handlers/jwks.js';
import { createTokenHandler } from '../../lambda/handlers/token.js';
import type { HttpResult } from '../../lambda/http/types.js';
import { httpEvent, tokenEvent } from '../support/events.js';
import { bodyOf, ISSUER, MemoryLog, RESOURCE } from '../support/harness.js';
import { TestIdp } from '../support/test-idp.js';
import type { Refusal } from '../../lambda/oauth/errors.js';

const PREFIX = 'xaa-auth-server/Test/clients/';
const CLIENT_ID = 'acme';
const SECRET = 'the-client-secret-0123456789';
const SECRET_REF = `${PREFIX}acme/abc123`;
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555';
const PUBLIC_KEY_DER = createPublicKey(rsaPrivateKey()).export({
  type: 'spki',
  format: 'der',
});

const awsError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), {
    name,
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
    ...extra,
  });

let idp: TestIdp;
beforeAll(async () => {
  idp = await TestIdp.start();
});
afterAll(() => idp.stop());

/** The token handler on AWS adapters whose SDK clients answer as mocked: everything works until a fault is set. */
function setUp() {
  const kms = new KMSClient({ region: 'us-east-1' });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
  const secretsManager = new SecretsManagerClient({ region: 'us-east-1' });
  const mocks = {
    kms: mockClient(kms),
    dynamodb: mockClient(dynamodb),
    secretsManager: mockClient(secretsManager),
  };
  mocks.kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN,
    KeyUsage: 'SIGN_VERIFY',
    KeySpec: 'RSA_2048',
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
    PublicKey: new Uint8Array(PUBLIC_KEY_DER),
  });
  mocks.kms.on(SignCommand).resolves({ Signature: new Uint8Array(256).fill(7) });
  mocks.dynamodb.on(GetItemCommand).resolves({
    Item: {
      [CLIENTS_TABLE.partitionKey]: { S: CLIENT_ID },
      secret_ref: { S: SECRET_REF },
      scopes: { L: [{ S: 'read' }] },
      resources: { L: [{ S: RESOURCE }] },
      enabled: { BOOL: true },
    },
  });
  mocks.dynamodb.on(PutItemCommand).resolves({});
  mocks.dynamodb.on(DeleteItemCommand).resolves({});
  mocks.secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });

  const config = loadTokenFunctionConfig({
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
    CLIENTS_TABLE_NAME: 'clients',
    REPLAY_TABLE_NAME: 'replay',
    CLIENT_SECRET_PREFIX: PREFIX,
    SIGNING_KEY_ID: KEY_ARN,
  });
  const log = new MemoryLog();
  const outcomes: Array<Refusal | undefined> = [];
  const { service } = createAwsTokenService(
    config,
    { kms, dynamodb, secretsManager },
    { logger: log, issuerKeys: { timeoutMs: 1000 } },
  );
  const handler = createTokenHandler({
    service,
    corsOrigins: [],
    logger: log,
    onOutcome: (e) => outcomes.push(e),
  });
  const request = async () =>
    handler(
      tokenEvent({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: await idp.mint({ audience: ISSUER, clientId: CLIENT_ID }),
        client_id: CLIENT_ID,
        client_secret: SECRET,
      }),
    );
  return { mocks, log, outcomes, request };
}

function expectUnavailable(res: HttpResult): void {
  expect(res.statusCode).toBe(503);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = bodyOf(res);
  expect(body).toEqual({
    error: 'temporarily_unavailable',
    error_description: expect.stringMatching(/retry later/),
  });
  expect(body.access_token).toBeUndefined();
  // Neither a stack frame nor the SDK's own error leaks to the client.
  expect(res.body).not.toMatch(/\bat .*[(/]|\.ts:\d|Exception|Throttl|Error\b/);
}

test('the set-up issues a token when nothing fails (so each fault below is what causes its 503)', async () => {
  const { request, outcomes } = setUp();
  const res = await request();
  expect(res.statusCode).toBe(200);
  expect(bodyOf(res).access_token).toEqual(expect.any(String));
  expect(outcomes).toEqual([undefined]);
});

test('KMS throttling on Sign: 503, and the jti is released so the client can retry the same assertion', async () => {
  const { mocks, request, outcomes, log } = setUp();
  mocks.kms.on(SignCommand).rejects(
    awsError('ThrottlingException', 'Rate exceeded', {
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    }),
  );
  expectUnavailable(await request());
  expect(mocks.dynamodb.commandCalls(DeleteItemCommand)).toHaveLength(1);
  expect(outcomes).toEqual([{ error: 'temporarily_unavailable', reason: 'signer_unavailable' }]);
  // The cause is in the log, for the operator; the client's secret is not.
  expect(log.text()).toContain('ThrottlingException');
  expect(log.text()).not.toContain(SECRET);
});

test('KMS unavailable for the kid (GetPublicKey fails): 503', async () => {
  const { mocks, request } = setUp();
  mocks.kms
    .on(GetPublicKeyCommand)
    .rejects(new KMSInvalidStateException({ message: 'key is disabled', $metadata: {} }));
  expectUnavailable(await request());
});

test('a KMS request timeout: 503', async () => {
  const { mocks, request } = setUp();
  mocks.kms.on(SignCommand).rejects(awsError('TimeoutError', 'Connection timed out after 3000 ms'));
  expectUnavailable(await request());
});

test('DynamoDB failing on the client lookup: 503', async () => {
  const { mocks, request, outcomes } = setUp();
  mocks.dynamodb
    .on(GetItemCommand)
    .rejects(awsError('InternalServerError', 'Internal server error'));
  expectUnavailable(await request());
  expect(mocks.kms.commandCalls(SignCommand)).toHaveLength(0);
  expect(outcomes).toEqual([
    { error: 'temporarily_unavailable', reason: 'client_registry_unavailable' },
  ]);
});

test('DynamoDB throttling the replay claim: 503, and the signature made alongside is discarded', async () => {
  const { mocks, request } = setUp();
  mocks.dynamodb.on(PutItemCommand).rejects(
    awsError('ProvisionedThroughputExceededException', 'Throughput exceeded', {
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    }),
  );
  expectUnavailable(await request());
});

test('Secrets Manager erroring: 503, never invalid_client (the client did nothing wrong)', async () => {
  const { mocks, request } = setUp();
  mocks.secretsManager
    .on(GetSecretValueCommand)
    .rejects(new InternalServiceError({ message: 'service error', $metadata: {} }));
  expectUnavailable(await request());
});

test('Secrets Manager timing out: 503', async () => {
  const { mocks, request } = setUp();
  mocks.secretsManager
    .on(GetSecretValueCommand)
    .rejects(awsError('TimeoutError', 'socket hang up'));
  expectUnavailable(await request());
});

test('the JWKS endpoint answers 503 while KMS throttles, and serves the keys once it recovers', async () => {
  const kms = new KMSClient({ region: 'us-east-1' });
  const mock = mockClient(kms);
  mock
    .on(GetPublicKeyCommand)
    .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
    .resolves({
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
      PublicKey: new Uint8Array(PUBLIC_KEY_DER),
    });
  const jwks = createJwksHandler({
    keys: new KmsPublicKeys(kms, [KEY_ARN]),
    corsOrigins: [],
    logger: new MemoryLog(),
  });
  const first = await jwks(httpEvent('GET', '/.well-known/jwks.json'));
  expectUnavailable(first);
  const second = await jwks(httpEvent('GET', '/.well-known/jwks.json'));
  expect(second.statusCode).toBe(200);
  expect((bodyOf(second).keys as unknown[]).length).toBe(1);
});
