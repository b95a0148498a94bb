/**
 * The token endpoint on the AWS adapters, end to end against moto: clients registered the way the
 * admin does it on AWS, secrets in Secrets Manager, jti records in DynamoDB, tokens signed by KMS.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ClientAdmin } from '../../lambda/admin/client-admin.js';
import { loadTokenFunctionConfig, type TokenFunctionConfig } from '../../lambda/aws/aws-config.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { KmsPublicKeys } from '../../lambda/aws/kms-public-keys.js';
import { SecretsManagerSecretWriter } from '../../lambda/aws/secrets-manager-secret-writer.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/aws/tables.js';
import { createAwsTokenService } from '../../lambda/aws/token-service-factory.js';
import { createTokenHandler } from '../../lambda/handlers/token.js';
import type { HttpHandler } from '../../lambda/http/types.js';
import { tokenEvent } from '../support/events.js';
import { bodyOf, ISSUER, MemoryLog, RESOURCE } from '../support/harness.js';
import { TestIdp } from '../support/test-idp.js';
import {
  createTable,
  describeWithMoto,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';
import type { Refusal } from '../../lambda/oauth/errors.js';

const PREFIX = 'xaa-auth-server/Test/clients/';

describeWithMoto('token endpoint on the AWS adapters (moto)', () => {
  let moto: Moto;
  let idp: TestIdp;
  let clients: { kms: KMSClient; dynamodb: DynamoDBClient; secretsManager: SecretsManagerClient };
  let config: TokenFunctionConfig;
  let admin: ClientAdmin;
  let log: MemoryLog;
  let outcomes: Array<Refusal | undefined>;
  let keyArn: string;

  const handlerFor = (cfg: TokenFunctionConfig): HttpHandler => {
    const { service } = createAwsTokenService(cfg, clients, {
      logger: log,
      issuerKeys: { timeoutMs: 1000 },
    });
    return createTokenHandler({
      service,
      corsOrigins: [],
      logger: log,
      onOutcome: (e) => outcomes.push(e),
    });
  };

  beforeAll(async () => {
    [moto, idp] = await Promise.all([startMoto(), TestIdp.start()]);
    clients = {
      kms: new KMSClient(moto.clientConfig),
      dynamodb: new DynamoDBClient(moto.clientConfig),
      secretsManager: new SecretsManagerClient(moto.clientConfig),
    };
    const tables = { clients: uniqueName('clients'), replay: uniqueName('replay') };
    await Promise.all([
      createTable(clients.dynamodb, tables.clients, CLIENTS_TABLE.partitionKey),
      createTable(clients.dynamodb, tables.replay, REPLAY_TABLE.partitionKey),
    ]);
    keyArn = (
      await clients.kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))
    ).KeyMetadata!.Arn!;
    // The variables the stack gives the token function.
    config = loadTokenFunctionConfig({
      ISSUER,
      TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
      CLIENTS_TABLE_NAME: tables.clients,
      REPLAY_TABLE_NAME: tables.replay,
      CLIENT_SECRET_PREFIX: PREFIX,
      SIGNING_KEY_ID: keyArn,
    });
    admin = new ClientAdmin(
      new DynamoDbClientRegistry(clients.dynamodb, tables.clients),
      new SecretsManagerSecretWriter(clients.secretsManager),
      PREFIX,
    );
  });
  beforeEach(() => {
    log = new MemoryLog();
    outcomes = [];
  });
  afterAll(async () => {
    for (const c of Object.values(clients ?? {})) c.destroy();
    await Promise.all([moto?.stop(), idp?.stop()]);
  });

  const register = async () => {
    const { client, clientSecret } = await admin.add({
      clientId: uniqueName('client'),
      scopes: ['read', 'write'],
      resources: [RESOURCE],
    });
    return { clientId: client.clientId, clientSecret, secretRef: client.secretRef };
  };
  const request = (clientId: string, clientSecret: string, assertion: string) =>
    tokenEvent({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
      client_id: clientId,
      client_secret: clientSecret,
    });

  test('a token is issued, signed by KMS, and verifies with the JWKS built from KMS', async () => {
    const token = handlerFor(config);
    const { clientId, clientSecret } = await register();
    const res = await token(
      request(clientId, clientSecret, await idp.mint({ audience: ISSUER, clientId })),
    );
    expect(res.statusCode).toBe(200);
    const body = bodyOf(res);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'read write', expires_in: 3600 });
    const jwks = await new KmsPublicKeys(clients.kms, [keyArn]).jwks();
    const { payload } = await jwtVerify(body.access_token as string, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({
      client_id: clientId,
      sub: 'alice@example.com',
      scope: 'read write',
    });
    expect(outcomes).toEqual([undefined]);
    // The outcome line names the client and issuer, and carries neither secret nor token.
    const text = log.text();
    expect(text).toContain(clientId);
    expect(text).not.toContain(clientSecret);
    expect(text).not.toContain(body.access_token as string);
  });

  test('an assertion is redeemed once: of two concurrent redemptions one wins, a later one is refused', async () => {
    const token = handlerFor(config);
    const { clientId, clientSecret } = await register();
    const assertion = await idp.mint({ audience: ISSUER, clientId });
    const results = await Promise.all([
      token(request(clientId, clientSecret, assertion)),
      token(request(clientId, clientSecret, assertion)),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
    const refused = results.find((r) => r.statusCode === 400)!;
    expect(bodyOf(refused)).toMatchObject({ error: 'invalid_grant' });
    expect(bodyOf(refused).access_token).toBeUndefined();
    const again = await token(request(clientId, clientSecret, assertion));
    expect(bodyOf(again)).toMatchObject({ error: 'invalid_grant' });
  });

  test('a rotated secret is accepted at once by a warm function that cached the old one; the old one then fails', async () => {
    const token = handlerFor(config);
    const { clientId, clientSecret, secretRef } = await register();
    const mint = () => idp.mint({ audience: ISSUER, clientId });
    expect((await token(request(clientId, clientSecret, await mint()))).statusCode).toBe(200);

    const rotated = 'rotated-secret-value-0123456789';
    await clients.secretsManager.send(
      new PutSecretValueCommand({ SecretId: secretRef, SecretString: rotated }),
    );
    expect((await token(request(clientId, rotated, await mint()))).statusCode).toBe(200);
    const old = await token(request(clientId, clientSecret, await mint()));
    expect(old.statusCode).toBe(401);
    expect(bodyOf(old)).toMatchObject({ error: 'invalid_client' });
  });

  test('a client whose secret is missing is refused as invalid_client, not a server error', async () => {
    const token = handlerFor(config);
    const { clientId, clientSecret, secretRef } = await register();
    await new SecretsManagerSecretWriter(clients.secretsManager).deleteSecret(secretRef);
    const res = await token(
      request(clientId, clientSecret, await idp.mint({ audience: ISSUER, clientId })),
    );
    expect(res.statusCode).toBe(401);
    expect(bodyOf(res)).toMatchObject({ error: 'invalid_client' });
  });

  test('a missing signing key is a clean 503: no token, no stack trace, and the assertion can be redeemed later', async () => {
    const { clientId, clientSecret } = await register();
    const assertion = await idp.mint({ audience: ISSUER, clientId });
    const broken = handlerFor({
      ...config,
      signingKeyId: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000',
    });
    const res = await broken(request(clientId, clientSecret, assertion));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.any(String),
    });
    expect(res.body).not.toMatch(/NotFoundException|\bat .*\.(ts|js)/);
    expect(outcomes).toEqual([{ error: 'temporarily_unavailable', reason: 'signer_unavailable' }]);
    // The failed attempt released its jti: once the key is back, the same assertion works.
    expect((await handlerFor(config)(request(clientId, clientSecret, assertion))).statusCode).toBe(
      200,
    );
  });
});
