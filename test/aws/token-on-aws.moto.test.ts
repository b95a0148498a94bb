/**
 * The token endpoint on the AWS adapters, end to end against moto: clients registered the way the
 * admin does it on AWS, secrets in Secrets Manager, jti records in DynamoDB, tokens signed by KMS.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import {
  loadTokenFunctionConfig,
  type TokenFunctionConfig,
} from '../../lambda/cdk-shared/aws-config.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { KmsPublicKeys } from '../../lambda/aws/kms-public-keys.js';
import { SecretsManagerSecretWriter } from '../../local/admin/secrets-manager-secret-writer.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import {
  createAwsTokenService,
  dpopNonceSecretName,
} from '../../lambda/aws/token-service-factory.js';
import { claimsOf, DpopKey } from '../support/dpop.js';
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

  describe('DPoP on the AWS adapters', () => {
    const dpopRequest = async (
      c: { clientId: string; clientSecret: string },
      key: DpopKey,
      o: { nonce?: string; proof?: string; cnf?: boolean } = {},
    ) => {
      const proof =
        o.proof ??
        (await key.proof({
          htu: `${ISSUER}/token`,
          iat: Math.floor(Date.now() / 1000),
          nonce: o.nonce,
        }));
      const assertion = await idp.mint(
        { audience: ISSUER, clientId: c.clientId },
        o.cnf ? { cnf: { jkt: key.jkt } } : {},
      );
      return {
        proof,
        event: {
          ...request(c.clientId, c.clientSecret, assertion),
          headers: { ...request('a', 'b', 'c').headers, dpop: proof },
        },
      };
    };

    test('DPOP-CNF-JKT, DPOP-PROOF: a bound token, and the proof is spent in DynamoDB', async () => {
      const token = handlerFor(config);
      const c = await register();
      const key = await DpopKey.generate();
      const first = await dpopRequest(c, key, { cnf: true });
      const res = await token(first.event);
      expect(bodyOf(res).token_type).toBe('DPoP');
      expect(claimsOf(bodyOf(res).access_token as string).cnf).toEqual({ jkt: key.jkt });
      // Another container (a fresh service on the same table) refuses the same proof.
      const replayed = await dpopRequest(c, key, { cnf: true, proof: first.proof });
      const again = await handlerFor(config)(replayed.event);
      expect(bodyOf(again)).toMatchObject({ error: 'invalid_dpop_proof' });
      expect(outcomes.at(-1)).toEqual({ error: 'invalid_dpop_proof', reason: 'dpop_jti_replayed' });
    });

    test('DPOP-REQUIRED: the client setting is stored in DynamoDB and enforced', async () => {
      const token = handlerFor(config);
      const { client, clientSecret } = await admin.add({
        clientId: uniqueName('bound'),
        scopes: ['read'],
        resources: [RESOURCE],
        dpopBoundRequired: true,
      });
      const c = { clientId: client.clientId, clientSecret };
      const bare = await token(
        request(
          c.clientId,
          clientSecret,
          await idp.mint({ audience: ISSUER, clientId: c.clientId }),
        ),
      );
      expect(outcomes.at(-1)).toEqual({
        error: 'invalid_grant',
        reason: 'dpop_required_by_client',
      });
      expect(bare.statusCode).toBe(400);
      const key = await DpopKey.generate();
      expect(bodyOf(await token((await dpopRequest(c, key)).event)).token_type).toBe('DPoP');
    });

    test('DPOP-NONCE: the key comes from Secrets Manager, so two containers accept each other', async () => {
      await clients.secretsManager.send(
        new CreateSecretCommand({
          Name: dpopNonceSecretName(PREFIX),
          SecretString: randomBytes(32).toString('base64url'),
        }),
      );
      const nonceConfig = {
        ...config,
        service: { ...config.service, dpop: { ...config.service.dpop, nonceRequired: true } },
      };
      const [one, two] = [handlerFor(nonceConfig), handlerFor(nonceConfig)];
      const c = await register();
      const key = await DpopKey.generate();
      const asked = await one((await dpopRequest(c, key)).event);
      expect(bodyOf(asked)).toMatchObject({ error: 'use_dpop_nonce' });
      const nonce = asked.headers['dpop-nonce'];
      expect(nonce).toEqual(expect.any(String));
      const res = await two((await dpopRequest(c, key, { nonce })).event);
      expect(res.statusCode).toBe(200);
      expect(res.headers['dpop-nonce']).toEqual(expect.any(String));
    });
  });
});
