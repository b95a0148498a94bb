/**
 * What runs on AWS is the bundle `cdk synth` writes, not the TypeScript sources: these tests
 * synthesize the app's stack with bundling on, create on moto what the template would create
 * (tables with its key schemas, a KMS key of its spec), publish the JWKS by running the publisher's
 * bundle as the custom resource does, and run each function's `index.mjs` in a container of its
 * own (test/support/bundles.ts) with the template's variables resolved to those resources, behind
 * API Gateway HTTP API payload 2.0 events.
 *
 * Every AWS call the bundles make goes through a recorder, signed with the function's own key;
 * the IAM tests at the end weigh what the flows before them recorded against the role the
 * template gives each function (test/support/iam/), so they run after the flows, in file order.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, type KeySpec, type KeyUsageType } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import { ClientKey } from '../support/client-keys.js';
import { CLIENT_ASSERTION_TYPE } from '../../lambda/oauth/grant-types.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { SecretsManagerSecretWriter } from '../../local/admin/secrets-manager-secret-writer.js';
import { CLIENT_SECRET_STACK_TAG } from '../../lambda/cdk-shared/stack-outputs.js';
import type { HttpResult } from '../../lambda/http/types.js';
import {
  functionCredentials,
  LambdaContainer,
  synthesizeBundles,
  type BundledFunction,
  type SynthesizedBundles,
} from '../support/bundles.js';
import { claimsOf, DpopKey } from '../support/dpop.js';
import { httpEvent, tokenEvent } from '../support/events.js';
import { bodyOf, ISSUER, RESOURCE } from '../support/harness.js';
import { AwsCallRecorder } from '../support/iam/aws-call-recorder.js';
import {
  denials,
  describeVerdict,
  evaluateCalls,
  expectAllowed,
  type EvaluationOptions,
} from '../support/iam/evaluate-calls.js';
import { TemplatePolicies, withoutAction } from '../support/iam/template-policies.js';
import {
  describeWithMoto,
  MOTO_REGION,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';
import { TestIdp } from '../support/test-idp.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

describeWithMoto('the bundles cdk synth writes, run as Lambda runs them (moto)', () => {
  let outdir: string;
  let moto: Moto;
  let idp: TestIdp;
  let synth: SynthesizedBundles;
  let recorder: AwsCallRecorder;
  let sdk: { dynamodb: DynamoDBClient; kms: KMSClient; secretsManager: SecretsManagerClient };
  let admin: ClientAdmin;
  /** Per logical id, what CloudFormation would have named it here (filled in as it is created). */
  const physical: Record<string, Record<string, string>> = {};
  let policies: TemplatePolicies;
  /** Which function signed with which access key: a recorded call is weighed against its role. */
  const functionOfKey = new Map<string, BundledFunction>();
  /** What the publisher's bundle answered the custom resource's Create with. */
  let published: { PhysicalResourceId: string; Data: { Jwks: string; Kids: string } };
  /** Two warm containers of the token function: replays must be caught across containers. */
  let tokenA: LambdaContainer;
  let tokenB: LambdaContainer;
  let jwks: LambdaContainer;
  let discovery: LambdaContainer;
  const containers: LambdaContainer[] = [];

  const start = async (fn: BundledFunction) => {
    const credentials = functionCredentials();
    recorder.name(credentials.accessKeyId, fn.name);
    functionOfKey.set(credentials.accessKeyId, fn);
    const c = await LambdaContainer.start(fn, {
      variables: policies.environmentOf(fn.logicalId),
      region: MOTO_REGION,
      credentials,
      awsEndpoint: recorder.endpoint,
    });
    containers.push(c);
    return c;
  };

  /** Starts them side by side; if one fails, the others are still stopped by afterAll. */
  const startAll = async <T extends readonly BundledFunction[]>(fns: T) => {
    const started = await Promise.allSettled(fns.map((fn) => start(fn)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return started.map((s) => (s as PromiseFulfilledResult<LambdaContainer>).value) as {
      [K in keyof T]: LambdaContainer;
    };
  };
  /** The calls the containers of one function made. */
  const callsOf = (name: string) => recorder.calls.filter((c) => c.caller === name);

  beforeAll(async () => {
    [moto, idp] = await Promise.all([startMoto(), TestIdp.start()]);
    recorder = await AwsCallRecorder.start(moto.endpoint);
    sdk = {
      dynamodb: new DynamoDBClient(moto.clientConfig),
      kms: new KMSClient(moto.clientConfig),
      secretsManager: new SecretsManagerClient(moto.clientConfig),
    };
    outdir = mkdtempSync(join(tmpdir(), 'xaa-bundles-'));
    // The test IdP as a config file would name it: TRUSTED_ISSUERS is the construct's rendering.
    synth = synthesizeBundles(
      { trustedIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }] },
      outdir,
    );
    const { Resources } = synth.template;

    // What CloudFormation would create, as the template describes it, under names of this run.
    // The issuer is the API's endpoint, known only once deployed: the test issuer stands in.
    physical[logicalIdOf('AWS::ApiGatewayV2::Api')] = { Ref: 'api', ApiEndpoint: ISSUER };
    let account = '';
    await Promise.all(
      Object.entries(Resources).map(async ([id, r]) => {
        const p = r.Properties ?? {};
        if (r.Type === 'AWS::DynamoDB::Table') {
          const name = uniqueName(id.slice(-24));
          await sdk.dynamodb.send(
            new CreateTableCommand({
              TableName: name,
              KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
              AttributeDefinitions:
                p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
          physical[id] = { Ref: name };
        } else if (r.Type === 'AWS::KMS::Key') {
          const { KeyMetadata } = await sdk.kms.send(
            new CreateKeyCommand({
              KeySpec: p.KeySpec as KeySpec,
              KeyUsage: p.KeyUsage as KeyUsageType,
              Description: uniqueName('bundles'),
            }),
          );
          physical[id] = { Ref: KeyMetadata!.KeyId!, Arn: KeyMetadata!.Arn! };
          account = KeyMetadata!.Arn!.split(':')[4]!;
        }
      }),
    );
    policies = new TemplatePolicies(synth.template, {
      account,
      region: MOTO_REGION,
      stackName: synth.stackName,
      physical,
    });

    // Deploy time: the provider framework hands the publisher the resource's properties.
    const resourceId = logicalIdOf('Custom::PublishedJwks');
    const properties = policies.resolve(Resources[resourceId]!.Properties) as {
      ServiceToken: string;
    };
    const publisher = await start(synth.fn('PublishedJwksPublisher'));
    published = await publisher.invoke({
      RequestType: 'Create',
      ServiceToken: properties.ServiceToken,
      ResponseURL: 'https://cloudformation-custom-resource-response.example/',
      StackId: `arn:aws:cloudformation:${MOTO_REGION}:${account}:stack/${synth.stackName}/1`,
      RequestId: 'create-1',
      LogicalResourceId: resourceId,
      ResourceType: Resources[resourceId]!.Type,
      ResourceProperties: properties,
    });
    // The JWKS function's PUBLISHED_JWKS is this resource's Jwks attribute.
    physical[resourceId] = { Ref: published.PhysicalResourceId, ...published.Data };

    [tokenA, tokenB, jwks, discovery] = await startAll([
      synth.fn('TokenFunction'),
      synth.fn('TokenFunction'),
      synth.fn('JwksFunction'),
      synth.fn('DiscoveryFunction'),
    ] as const);

    // The admin CLI runs from the sources, on the table and prefix the stack's outputs name.
    const outputs = policies.outputs();
    admin = new ClientAdmin(
      new DynamoDbClientRegistry(sdk.dynamodb, outputs.ClientsTableName!),
      new SecretsManagerSecretWriter(sdk.secretsManager, undefined, {
        [CLIENT_SECRET_STACK_TAG]: synth.stackName,
      }),
      outputs.ClientSecretPrefix!,
    );
  }, 120_000);

  afterAll(async () => {
    // Every step, whatever the others do: no container, server or temporary folder is left behind.
    await Promise.allSettled([
      ...containers.map((c) => c.stop()),
      recorder?.stop(),
      moto?.stop(),
      idp?.stop(),
    ]);
    for (const c of Object.values(sdk ?? {})) c.destroy();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  function logicalIdOf(type: string): string {
    const ids = Object.entries(synth.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
    if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.join(', ')}`);
    return ids[0]!;
  }

  const register = async () => {
    const { client, clientSecret } = await admin.add({
      clientId: uniqueName('bundle-client'),
      scopes: ['read', 'write'],
      resources: [RESOURCE],
    });
    return { clientId: client.clientId, clientSecret };
  };
  const mint = (clientId: string, claims: Record<string, unknown> = {}) =>
    idp.mint({ audience: ISSUER, clientId }, claims);
  const tokenRequest = (
    c: { clientId: string; clientSecret: string },
    assertion: string,
    headers: Record<string, string> = {},
  ) =>
    tokenEvent(
      { grant_type: JWT_BEARER, assertion, client_id: c.clientId, client_secret: c.clientSecret },
      headers,
    );
  /** Status and body together, so a failure shows what came back instead. */
  const answer = (res: HttpResult) => ({ status: res.statusCode, body: bodyOf(res) });

  test('the four bundles are found and start with the variables the template gives them', () => {
    expect(synth.functions.map((f) => f.name).sort()).toEqual([
      'DiscoveryFunction',
      'JwksFunction',
      'PublishedJwksPublisherFunction',
      'TokenFunction',
    ]);
    // Lambda starts node with the template's NODE_OPTIONS; so do the containers here.
    for (const c of [tokenA, jwks, discovery])
      expect([c.fn.name, c.env.NODE_OPTIONS]).toEqual([c.fn.name, '--enable-source-maps']);
    expect(tokenA.env).toMatchObject({
      ISSUER,
      SIGNING_KEY_ID: expect.stringMatching(/^arn:aws:kms:/),
    });
  });

  // Lambda sets AWS_XRAY_CONTEXT_MISSING to LOG_ERROR and gives init no trace context: the token
  // entry's traced warm-up (the IdP's JWKS, KMS GetPublicKey) must not log an error for it.
  test('a cold start of the token function logs no error', () => {
    expect(tokenA.initOutput).not.toMatch(/Error/);
  });

  test('token: a real ID-JAG and client_secret_post give an access token that verifies against the JWKS the bundles serve', async () => {
    const c = await register();
    const res = await tokenA.http(tokenRequest(c, await mint(c.clientId)));
    expect(answer(res)).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer', scope: 'read write', expires_in: 3600 },
    });
    const accessToken = bodyOf(res).access_token as string;

    const served = await jwks.http(httpEvent('GET', '/.well-known/jwks.json'));
    expect(served.statusCode).toBe(200);
    const set = bodyOf(served) as unknown as JSONWebKeySet;
    const { payload } = await jwtVerify(accessToken, createLocalJWKSet(set), {
      issuer: ISSUER,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({
      client_id: c.clientId,
      sub: 'alice@example.com',
      scope: 'read write',
    });
    expect(set.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(accessToken).kid);
    // The outcome was logged by Powertools with the invocation's ids, without secret or token.
    expect(tokenA.output).not.toContain(c.clientSecret);
    expect(tokenA.output).not.toContain(accessToken);
    expect(tokenA.jsonLines().find((l) => l.message === 'token issued')).toMatchObject({
      clientId: c.clientId,
      function_request_id: expect.any(String),
    });
  });

  test('a replayed ID-JAG is 400 invalid_grant in every container, never 503: of two concurrent redemptions one wins', async () => {
    const c = await register();
    const assertion = await mint(c.clientId);
    const both = await Promise.all([
      tokenA.http(tokenRequest(c, assertion)),
      tokenB.http(tokenRequest(c, assertion)),
    ]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 400]);
    const loser = both.find((r) => r.statusCode !== 200)!;
    expect(answer(loser)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(bodyOf(loser).access_token).toBeUndefined();
    for (const container of [tokenA, tokenB]) {
      expect(answer(await container.http(tokenRequest(c, assertion)))).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant' },
      });
    }
  });

  test('a replayed DPoP proof is refused by another container (invalid_dpop_proof), with a new ID-JAG', async () => {
    const c = await register();
    const key = await DpopKey.generate();
    const proof = await key.proof({ htu: `${ISSUER}/token`, iat: Math.floor(Date.now() / 1000) });
    const first = await tokenA.http(
      tokenRequest(c, await mint(c.clientId, { cnf: { jkt: key.jkt } }), { dpop: proof }),
    );
    expect(answer(first)).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    expect(claimsOf(bodyOf(first).access_token as string).cnf).toEqual({ jkt: key.jkt });

    const replayed = await tokenB.http(
      tokenRequest(c, await mint(c.clientId, { cnf: { jkt: key.jkt } }), { dpop: proof }),
    );
    expect(answer(replayed)).toMatchObject({
      status: 400,
      body: { error: 'invalid_dpop_proof' },
    });
    expect(bodyOf(replayed).access_token).toBeUndefined();
  });

  test('private_key_jwt: a client registered with keys redeems with its own signed assertion, once', async () => {
    const key = await ClientKey.generate('ES256');
    const client = await admin.addKeyClient({
      clientId: uniqueName('bundle-key-client'),
      jwks: key.jwks,
      scopes: ['read'],
      resources: [RESOURCE],
    });
    const clientAssertion = await key.assertion(
      client.clientId,
      ISSUER,
      Math.floor(Date.now() / 1000),
    );
    const form = (assertion: string) =>
      tokenEvent({
        grant_type: JWT_BEARER,
        assertion,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: clientAssertion,
      });
    const res = await tokenA.http(form(await mint(client.clientId)));
    expect(answer(res)).toMatchObject({ status: 200, body: { scope: 'read' } });
    expect(claimsOf(bodyOf(res).access_token as string).client_id).toBe(client.clientId);
    // AUTH-PRIVATE-KEY-JWT: its jti was spent in DynamoDB; another container refuses it.
    const again = await tokenB.http(form(await mint(client.clientId)));
    expect(answer(again)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(tokenA.output).not.toContain(clientAssertion);
  });

  test('an unknown client is 401 invalid_client', async () => {
    const stranger = { clientId: uniqueName('nobody'), clientSecret: 'not-a-registered-secret-0' };
    const res = await tokenA.http(tokenRequest(stranger, await mint(stranger.clientId)));
    expect(answer(res)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('a rotated secret: the previous one is accepted during its grace period, and not without one', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const graced = await register();
    const cut = await register();
    // Both secrets are cached by the warm container before the rotation.
    for (const c of [graced, cut])
      expect((await tokenA.http(tokenRequest(c, await mint(c.clientId)))).statusCode).toBe(200);

    const withGrace = await admin.rotateSecret(graced.clientId, { graceSeconds: 3600, now: now() });
    const without = await admin.rotateSecret(cut.clientId, { graceSeconds: 0, now: now() });
    expect(withGrace.previousUntil).toBeGreaterThan(now());

    // The new secret first: it does not match the cached one, so the container fetches again and
    // from then on holds the rotation's versions. Only then is the old one a test of the grace.
    for (const [c, secret] of [
      [graced, withGrace.clientSecret],
      [cut, without.clientSecret],
    ] as const) {
      const res = await tokenA.http(
        tokenRequest({ ...c, clientSecret: secret }, await mint(c.clientId)),
      );
      expect([c.clientId, answer(res).status]).toEqual([c.clientId, 200]);
    }
    expect(
      answer(await tokenA.http(tokenRequest(graced, await mint(graced.clientId)))),
    ).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer' },
    });
    expect(answer(await tokenA.http(tokenRequest(cut, await mint(cut.clientId))))).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    // A container that never saw the client reads both versions on its first request.
    expect((await tokenB.http(tokenRequest(graced, await mint(graced.clientId)))).statusCode).toBe(
      200,
    );
  });

  test('JWKS: the keys the publisher read from KMS at deploy time, served without an AWS call', async () => {
    // A browser origin the config allows: the JWKS is fetched cross-origin by web clients.
    const origin = jwks.env.CORS_ORIGINS!.split(',')[0]!;
    const res = await jwks.http(
      httpEvent('GET', '/.well-known/jwks.json', { headers: { origin } }),
    );
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual(JSON.parse(published.Data.Jwks));
    const keys = (bodyOf(res) as unknown as JSONWebKeySet).keys;
    expect(keys).toEqual([
      expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) }),
    ]);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(callsOf(jwks.fn.name)).toEqual([]);
    expect(callsOf('PublishedJwksPublisherFunction').map((c) => c.action)).toEqual([
      'GetPublicKey',
    ]);
  });

  test('discovery: the metadata for the issuer, on both well-known paths, without an AWS call', async () => {
    const rfc8414 = await discovery.http(
      httpEvent('GET', '/.well-known/oauth-authorization-server'),
    );
    const oidc = await discovery.http(httpEvent('GET', '/.well-known/openid-configuration'));
    expect(answer(rfc8414)).toMatchObject({
      status: 200,
      body: {
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/token`,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        grant_types_supported: expect.arrayContaining([JWT_BEARER]),
      },
    });
    expect(bodyOf(oidc)).toEqual(bodyOf(rfc8414));
    expect(callsOf(discovery.fn.name)).toEqual([]);
  });

  describe('IAM: each call a bundle made, weighed against the role the template gives its function', () => {
    const optionsFor = (p: TemplatePolicies): EvaluationOptions => ({
      policies: p,
      principalOf: (call) => {
        const fn = functionOfKey.get(call.accessKeyId);
        return fn && p.role(fn.roleLogicalId, fn.name);
      },
    });
    const made = (caller: string, action: string, errorType?: string) =>
      callsOf(caller).some((c) => c.action === action && c.errorType === errorType);

    test('the flows above reached AWS where IAM matters: a claim that lost, a signature, a secret', () => {
      // Set-up and the admin go straight to moto: every recorded call is a bundle's.
      expect(recorder.calls.filter((c) => !functionOfKey.has(c.accessKeyId))).toEqual([]);
      expect(made('TokenFunction', 'PutItem', 'ConditionalCheckFailedException')).toBe(true);
      expect(made('TokenFunction', 'Sign')).toBe(true);
      expect(made('TokenFunction', 'GetSecretValue')).toBe(true);
      expect(made('PublishedJwksPublisherFunction', 'GetPublicKey')).toBe(true);
    });

    test('AWS would allow every one of them (identity policies and the key policy)', async () => {
      await expectAllowed(recorder.calls, optionsFor(policies));
    });

    test('and would refuse them without the grant: the evaluation can fail', async () => {
      const role = synth.fn('TokenFunction').roleLogicalId;
      const mutated = new TemplatePolicies(
        withoutAction(synth.template, role, 'dynamodb:PutItem'),
        policies.bindings,
      );
      const refused = denials(await evaluateCalls(recorder.calls, optionsFor(mutated)));
      expect(refused.length).toBeGreaterThan(0);
      expect([...new Set(refused.map((v) => v.request.action))]).toEqual(['dynamodb:PutItem']);
      expect(describeVerdict(refused[0]!)).toContain(role);
    });
  });
});
