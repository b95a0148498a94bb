/**
 * Both signing modes end to end on moto: the wrapped key made by the deploy-time generator, the
 * JWKS published from a KMS key and a wrapped key together, tokens from both verified against it;
 * and the wrapped-key mode's faults: a decrypt that fails answers 503 with Retry-After and no
 * token, is logged once, and is retried on a later request rather than on every one.
 */
import {
  CreateKeyCommand,
  DisabledException,
  KMSClient,
  type CreateKeyCommandInput,
} from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import {
  loadTokenFunctionConfig,
  type TokenFunctionConfig,
} from '../../lambda/cdk-shared/aws-config.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import {
  createJwksPublisher,
  type JwksPublisherProperties,
} from '../../lambda/aws/jwks-publisher.js';
import { parsePublishedJwks } from '../../lambda/cdk-shared/published-jwks.js';
import { withRetryAfter } from '../../lambda/aws/retry-after.js';
import { SecretsManagerSecretWriter } from '../../local/admin/secrets-manager-secret-writer.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import { createAwsTokenService } from '../../lambda/aws/token-service-factory.js';
import {
  createWrappedKeyGenerator,
  type WrappedKeyData,
  type WrappedKeyProperties,
} from '../../lambda/aws/wrapped-key-generator.js';
import { createTokenHandler } from '../../lambda/handlers/token.js';
import type { HttpHandler } from '../../lambda/http/types.js';
import { tokenEvent } from '../support/events.js';
import { bodyOf, ISSUER, MemoryLog, RESOURCE } from '../support/harness.js';
import { TestIdp } from '../support/test-idp.js';
import {
  createTable,
  describeWithMoto,
  recordCommands,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';

const PREFIX = 'xaa-auth-server/Wrapped/clients/';
const KEY_NAME = 'XaaAuthServer-test/AuthServer/signing/key-2';

describeWithMoto('signing modes on moto: kms and wrapped-key', () => {
  let moto: Moto;
  let idp: TestIdp;
  let kms: KMSClient;
  let dynamodb: DynamoDBClient;
  let secretsManager: SecretsManagerClient;
  let admin: ClientAdmin;
  let base: Record<string, string>;
  let signKey: string;
  let wrappingKey: string;
  let wrapped: WrappedKeyData;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  const kmsCalls: string[] = [];
  /** Decrypts fail with this while set: KMS's answer for a disabled key (moto does not refuse). */
  let decryptFault: Error | undefined;

  const event = (
    type: 'Create' | 'Update' | 'Delete',
    props: Omit<WrappedKeyProperties, 'ServiceToken'>,
    physicalId?: string,
  ) =>
    ({
      RequestType: type,
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:gen',
      ResponseURL: 'https://example.invalid/',
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/T/1',
      RequestId: 'r',
      LogicalResourceId: 'Key',
      ResourceType: 'Custom::WrappedSigningKey',
      ResourceProperties: { ServiceToken: 'x', ...props },
      ...(physicalId && { PhysicalResourceId: physicalId, OldResourceProperties: { ...props } }),
    }) as unknown as CdkCustomResourceEvent<WrappedKeyProperties>;
  const keyProps = () => ({
    WrappingKeyArn: wrappingKey,
    KeyName: KEY_NAME,
    SecretNamePrefix: 'xaa-auth-server/XaaAuthServer-test/AuthServer/signing/',
    KeySpec: 'RSA_2048',
  });

  beforeAll(async () => {
    [moto, idp] = await Promise.all([startMoto(), TestIdp.start()]);
    kms = new KMSClient(moto.clientConfig);
    dynamodb = new DynamoDBClient(moto.clientConfig);
    secretsManager = new SecretsManagerClient(moto.clientConfig);
    recordCommands(kms, kmsCalls);
    kms.middlewareStack.add(
      (next, context) => async (args) => {
        if (decryptFault && context.commandName === 'DecryptCommand') throw decryptFault;
        return next(args);
      },
      { step: 'initialize' },
    );
    const tables = { clients: uniqueName('clients'), replay: uniqueName('replay') };
    await Promise.all([
      createTable(dynamodb, tables.clients, CLIENTS_TABLE.partitionKey),
      createTable(dynamodb, tables.replay, REPLAY_TABLE.partitionKey),
    ]);
    const createKey = async (input: CreateKeyCommandInput) =>
      (await kms.send(new CreateKeyCommand(input))).KeyMetadata!.Arn!;
    [signKey, wrappingKey] = await Promise.all([
      createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }),
      createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
    ]);
    // Deploy time: the generator makes the wrapped key, the publisher the JWKS from both modes.
    const created = await createWrappedKeyGenerator(
      kms,
      secretsManager,
    )(event('Create', keyProps()));
    wrapped = created.Data!;
    const published = await createJwksPublisher(kms)({
      RequestType: 'Create',
      ResourceProperties: {
        ServiceToken: 'x',
        KeyIds: [signKey],
        PublicJwks: [wrapped.PublicJwk],
      } satisfies JwksPublisherProperties,
    } as unknown as CdkCustomResourceEvent<JwksPublisherProperties>);
    jwks = createLocalJWKSet(parsePublishedJwks(published.Data!.Jwks as string));
    base = {
      ISSUER,
      TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
      CLIENTS_TABLE_NAME: tables.clients,
      REPLAY_TABLE_NAME: tables.replay,
      CLIENT_SECRET_PREFIX: PREFIX,
    };
    admin = new ClientAdmin(
      new DynamoDbClientRegistry(dynamodb, tables.clients),
      new SecretsManagerSecretWriter(secretsManager),
      PREFIX,
    );
  });
  afterAll(async () => {
    for (const c of [kms, dynamodb, secretsManager]) c?.destroy();
    await Promise.all([moto?.stop(), idp?.stop()]);
  });
  beforeEach(() => {
    kmsCalls.length = 0;
    decryptFault = undefined;
  });

  const kmsConfig = () => loadTokenFunctionConfig({ ...base, SIGNING_KEY_ID: signKey });
  const wrappedConfig = (overrides: Record<string, string> = {}) =>
    loadTokenFunctionConfig({
      ...base,
      SIGNING_KEY_ID: wrappingKey,
      SIGNING_MODE: 'wrapped-key',
      SIGNING_KEY_SECRET: wrapped.SecretArn,
      SIGNING_KEY_NAME: KEY_NAME,
      SIGNING_KEY_KID: wrapped.Kid,
      ...overrides,
    });

  /** One container, as lambda/functions/token.ts builds it; `clock` drives its retry delays. */
  const container = async (config: TokenFunctionConfig, clock = { now: Date.now() }) => {
    const log = new MemoryLog();
    const { service, warm, retryAfterSeconds } = createAwsTokenService(
      config,
      { kms, dynamodb, secretsManager },
      { logger: log, issuerKeys: { timeoutMs: 1000 }, wrappedKey: { now: () => clock.now } },
    );
    await warm();
    const handler: HttpHandler = withRetryAfter(
      createTokenHandler({ service, corsOrigins: [], logger: log }),
      retryAfterSeconds,
    );
    return { handler, log, clock };
  };
  const register = async () => {
    const { client, clientSecret } = await admin.add({
      clientId: uniqueName('c'),
      scopes: ['read'],
      resources: [RESOURCE],
    });
    return async () =>
      tokenEvent({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: await idp.mint({ audience: ISSUER, clientId: client.clientId }),
        client_id: client.clientId,
        client_secret: clientSecret,
      });
  };
  const verify = (token: string) =>
    jwtVerify(token, jwks, { issuer: ISSUER, audience: RESOURCE, typ: 'at+jwt' });

  test('the generator stores only ciphertext, under the key’s encryption context, and answers the public half', async () => {
    const { SecretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: wrapped.SecretArn }),
    );
    const stored = JSON.parse(SecretString!) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual([
      'ciphertext',
      'format',
      'keyName',
      'keySpec',
      'publicJwk',
      'wrappingKeyArn',
    ]);
    expect(SecretString).not.toMatch(/PRIVATE KEY|"d":|"p":|"q":/);
    expect(JSON.parse(wrapped.PublicJwk)).toMatchObject({
      kty: 'RSA',
      kid: wrapped.Kid,
      alg: 'RS256',
    });
    expect(kmsCalls).toEqual([]); // (the Encrypt ran in beforeAll)
    // An Update with the same identity answers the same key; a Delete schedules the secret's deletion.
    const again = await createWrappedKeyGenerator(
      kms,
      secretsManager,
    )(event('Update', keyProps(), wrapped.SecretArn));
    expect(again).toEqual({ PhysicalResourceId: wrapped.SecretArn, Data: wrapped });
  });

  test.each([
    [
      'kms',
      () => kmsConfig(),
      ['GetPublicKeyCommand', 'SignCommand', 'SignCommand', 'SignCommand'],
    ],
    ['wrapped-key', () => wrappedConfig(), ['DecryptCommand']],
  ] as const)(
    '%s: tokens verify against the published JWKS; the KMS calls of a container and three tokens',
    async (_mode, config, calls) => {
      const { handler } = await container(config());
      const next = await register();
      const kids = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const res = await handler(await next());
        expect(res.statusCode).toBe(200);
        const token = bodyOf(res).access_token as string;
        await verify(token);
        kids.add(decodeProtectedHeader(token).kid!);
      }
      expect(kids.size).toBe(1);
      expect(kmsCalls).toEqual(calls);
    },
  );

  test('a disabled wrapping key: 503 temporarily_unavailable with Retry-After and no token, logged once, retried later, then tokens', async () => {
    decryptFault = new DisabledException({ message: 'key is disabled', $metadata: {} });
    const { handler, log, clock } = await container(wrappedConfig());
    const next = await register();
    const refused = await handler(await next());
    expect(refused.statusCode).toBe(503);
    expect(bodyOf(refused)).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.any(String),
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body).not.toMatch(/access_token|DisabledException/);

    // Within the retry delay: refused again at once, without another Decrypt.
    const decrypts = () => kmsCalls.filter((c) => c === 'DecryptCommand').length;
    const before = decrypts();
    expect((await handler(await next())).statusCode).toBe(503);
    expect(decrypts()).toBe(before);
    const why = log.lines.filter((l) => l.message.startsWith('signing key unavailable'));
    expect(why).toHaveLength(1);
    expect(JSON.stringify(why[0]!.extra)).toContain('DisabledException');

    // The key is enabled again; once the delay has passed, the next request decrypts and signs.
    decryptFault = undefined;
    clock.now += 60_000;
    const res = await handler(await next());
    expect(res.statusCode).toBe(200);
    expect(res.headers['retry-after']).toBeUndefined();
    await verify(bodyOf(res).access_token as string);
    expect(decrypts()).toBe(before + 1);
    expect(log.text()).not.toContain(
      (JSON.parse(wrapped.PublicJwk) as { n: string }).n.slice(0, 40),
    );
  });

  test('an inaccessible key (Decrypt naming another key, as moto refuses it): 503, never a token', async () => {
    const other = (
      await kms.send(
        new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
      )
    ).KeyMetadata!.Arn!;
    const { handler, log } = await container(wrappedConfig({ SIGNING_KEY_ID: other }));
    const res = await handler(await (await register())());
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(log.text()).toMatch(/AccessDenied|IncorrectKey/);
  });

  test('a secret that holds another key than the published kid is never used to sign', async () => {
    const { handler, log } = await container(
      wrappedConfig({ SIGNING_KEY_KID: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
    );
    const res = await handler(await (await register())());
    expect(res.statusCode).toBe(503);
    expect(kmsCalls).not.toContain('DecryptCommand');
    expect(log.text()).toContain('not XaaAuthServer-test/AuthServer/signing/key-2 (kid AAAA');
  });

  test('the generator refuses a key spec it does not make, and Delete schedules the secret’s deletion', async () => {
    const generator = createWrappedKeyGenerator(kms, secretsManager);
    await expect(
      generator(event('Create', { ...keyProps(), KeySpec: 'ECC_NIST_P256' })),
    ).rejects.toThrow(/KeySpec ECC_NIST_P256 is not supported/);
    const made = await generator(event('Create', { ...keyProps(), KeyName: `${KEY_NAME}x` }));
    await generator(event('Delete', keyProps(), made.PhysicalResourceId));
    const described = await secretsManager.send(
      new DescribeSecretCommand({ SecretId: made.PhysicalResourceId }),
    );
    expect(described.DeletedDate).toBeDefined();
  });
});
