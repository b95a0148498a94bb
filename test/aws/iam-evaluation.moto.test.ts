/**
 * Every AWS call the components make, weighed against what the synthesized template allows, as AWS
 * would weigh it: moto accepts any call, so a green moto run proves the wire format and nothing
 * about IAM. The token function, the JWKS publisher and the admin's --stack commands run against
 * moto through a recording proxy, each signing with an access key of its own; each recorded call
 * (action, resource ARN, the condition keys it carries) is then evaluated against the identity
 * policies of the role the template gives that component and against the KMS key policies
 * (test/support/iam/). The mutation tests at the end show the evaluation can refuse.
 *
 * The tests run in order: the flows record, the last tests reuse what they recorded.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { JWKS_PHYSICAL_ID, type JwksPublisherProperties } from '../../lambda/aws/jwks-publisher.js';
import { PREVIOUS_UNTIL_LABEL } from '../../lambda/aws/secrets-manager-secret-store.js';
import { parsePublishedJwks } from '../../lambda/cdk-shared/published-jwks.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import { dpopNonceSecretName } from '../../lambda/aws/token-service-factory.js';
import { DpopKey } from '../support/dpop.js';
import { bodyOf, ISSUER, RESOURCE } from '../support/harness.js';
import { AwsCallRecorder, type AwsCall } from '../support/iam/aws-call-recorder.js';
import {
  addClient,
  admin,
  createAdminStack,
  destroyClients,
  jwksPublisher,
  publisherEvents,
  tokenFunction,
  tokenFunctionClients,
  tokenRequest,
} from '../support/iam/component-flows.js';
import {
  denials,
  describeVerdict,
  evaluateCalls,
  expectAllowed,
  type EvaluationOptions,
} from '../support/iam/evaluate-calls.js';
import {
  synthServer,
  uniqueEnvironmentName,
  type SynthesizedServer,
} from '../support/iam/server-template.js';
import {
  TemplatePolicies,
  withoutAction,
  type Bindings,
  type CfnTemplate,
  type PolicyDocument,
  type Principal,
} from '../support/iam/template-policies.js';
import {
  createTable,
  describeWithMoto,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';
import { TestIdp } from '../support/test-idp.js';

/** Each component signs with its own key, as each function runs with its own role. */
const KEYS = {
  token: { accessKeyId: 'AKIATOKENFUNCTION', secretAccessKey: 'token' },
  publisher: { accessKeyId: 'AKIAJWKSPUBLISHER', secretAccessKey: 'publisher' },
  operator: { accessKeyId: 'AKIAOPERATOR', secretAccessKey: 'operator' },
};

describeWithMoto('IAM evaluation: every AWS call allowed by the synthesized policies', () => {
  let moto: Moto;
  let idp: TestIdp;
  let recorder: AwsCallRecorder;
  let server: SynthesizedServer;
  let bindings: Bindings;
  let policies: TemplatePolicies;
  let region: string;
  let setup: { kms: KMSClient; dynamodb: DynamoDBClient; secretsManager: SecretsManagerClient };
  let tokenVariables: Record<string, string>;
  let replayTable: string;
  let clientsTable: string;

  const optionsFor = (p: TemplatePolicies): EvaluationOptions => {
    const byKey: Record<string, Principal> = {
      [KEYS.token.accessKeyId]: p.role(server.ids.tokenRole, 'token-function'),
      [KEYS.publisher.accessKeyId]: p.role(server.ids.publisherRole, 'jwks-publisher'),
      [KEYS.operator.accessKeyId]: p.holder(
        'the operator (OperatorPolicy attached)',
        `arn:aws:sts::${p.bindings.account}:assumed-role/Operator/alice`,
        [server.ids.operatorPolicy],
      ),
    };
    return { policies: p, principalOf: (c) => byKey[c.accessKeyId] };
  };
  const callsOf = (key: { accessKeyId: string }) => recorder.callsBy(key.accessKeyId);
  /** What each component's flow test recorded: the later tests weigh these again, mutated. */
  const flows = { token: [] as AwsCall[], publisher: [] as AwsCall[], operator: [] as AwsCall[] };
  const operator = (...argv: string[]) =>
    admin(recorder.endpoint, region, KEYS.operator, server.stackName, ...argv);

  beforeAll(async () => {
    [moto, idp] = await Promise.all([startMoto(), TestIdp.start()]);
    region = moto.clientConfig.region;
    // The template trusts the test IdP: the token function and the admin judge by it.
    server = synthServer(
      {
        trustedIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }],
        // A rotation in progress: two keys in the key policies and the JWKS, the second signs.
        signingKeys: [{ id: 'key-1' }, { id: 'key-2', active: true }],
      },
      { environment: uniqueEnvironmentName() },
    );
    recorder = await AwsCallRecorder.start(moto.endpoint);
    for (const [name, key] of Object.entries(KEYS)) recorder.name(key.accessKeyId, name);

    // Set-up goes straight to moto: it is the deployment's doing, not a component's.
    setup = {
      kms: new KMSClient(moto.clientConfig),
      dynamodb: new DynamoDBClient(moto.clientConfig),
      secretsManager: new SecretsManagerClient(moto.clientConfig),
    };
    replayTable = uniqueName('replay');
    clientsTable = uniqueName('clients');
    const keyArns = await Promise.all(
      server.ids.keys.map(
        async () =>
          (
            await setup.kms.send(
              new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }),
            )
          ).KeyMetadata!.Arn!,
      ),
    );
    await createTable(setup.dynamodb, replayTable, REPLAY_TABLE.partitionKey);
    bindings = {
      account: keyArns[0]!.split(':')[4]!,
      region,
      stackName: server.stackName,
      physical: {
        [server.ids.clientsTable]: clientsTable,
        [server.ids.replayTable]: replayTable,
        ...Object.fromEntries(server.ids.keys.map((id, i) => [id, keyArns[i]!])),
        [server.ids.tokenRole]: 'xaa-token-function-role',
        [server.ids.publisherRole]: 'xaa-jwks-publisher-role',
        [server.ids.api]: { Ref: 'api', ApiEndpoint: ISSUER },
      },
    };
    policies = new TemplatePolicies(server.template, bindings);
    tokenVariables = policies.environmentOf(server.ids.tokenFunction);

    // The stack as the admin finds it: its outputs, resolved, and the clients table it owns.
    const cfn = new CloudFormationClient(moto.clientConfig);
    await createAdminStack(cfn, server.stackName, clientsTable, policies.outputs());
    cfn.destroy();
  });
  afterAll(async () => {
    if (setup) destroyClients(setup);
    await Promise.all([recorder?.stop(), moto?.stop(), idp?.stop()]);
  });

  test('the template binds to what the test created: the variables name the moto resources', () => {
    expect(tokenVariables).toMatchObject({
      CLIENTS_TABLE_NAME: clientsTable,
      REPLAY_TABLE_NAME: replayTable,
      SIGNING_KEY_ID: bindings.physical[server.ids.activeKey],
      ISSUER,
    });
    expect(tokenVariables.CLIENT_SECRET_PREFIX).toContain(server.stackName);
  });

  test('token function: issue, replays, DPoP, nonce, rotation, unknown client, a failed signature: every call allowed', async () => {
    const clients = tokenFunctionClients(recorder.endpoint, region, KEYS.token);
    const fn = tokenFunction(tokenVariables, clients);
    const mint = (clientId: string, claims: Record<string, unknown> = {}) =>
      idp.mint({ audience: ISSUER, clientId }, claims);
    try {
      const client = await addClient(operator, uniqueName('c'));

      // Issued, signed by the active key with the algorithm the key policy allows.
      const issued = await fn.handler(tokenRequest(client, await mint(client.clientId)));
      expect(issued.statusCode).toBe(200);
      const publicKeys = await jwksPublisher(recorder.endpoint, region, KEYS.publisher).publish(
        publisherEvents(publisherProperties()).create(),
      );
      await jwtVerify(
        bodyOf(issued).access_token as string,
        createLocalJWKSet(parsePublishedJwks(publicKeys.Data!.Jwks as string)),
        { issuer: ISSUER, audience: RESOURCE },
      );

      // JAG-REPLAY: of two concurrent redemptions one wins; a later one is refused, never a 503.
      const assertion = await mint(client.clientId);
      const both = await Promise.all([
        fn.handler(tokenRequest(client, assertion)),
        fn.handler(tokenRequest(client, assertion)),
      ]);
      expect(both.map((r) => r.statusCode).sort()).toEqual([200, 400]);
      const replayed = await fn.handler(tokenRequest(client, assertion));
      expect(replayed.statusCode).toBe(400);
      expect(bodyOf(replayed)).toMatchObject({ error: 'invalid_grant' });
      expect(fn.outcomes.at(-1)).toEqual({ error: 'invalid_grant', reason: 'jti_replayed' });

      // DPoP: a bound token; the same proof again is refused (its jti is in the replay table).
      const key = await DpopKey.generate();
      const proof = await key.proof({ htu: `${ISSUER}/token`, iat: Math.floor(Date.now() / 1000) });
      const bound = await fn.handler(
        tokenRequest(client, await mint(client.clientId, { cnf: { jkt: key.jkt } }), {
          dpop: proof,
        }),
      );
      expect(bodyOf(bound).token_type).toBe('DPoP');
      const proofAgain = await fn.handler(
        tokenRequest(client, await mint(client.clientId, { cnf: { jkt: key.jkt } }), {
          dpop: proof,
        }),
      );
      expect(bodyOf(proofAgain)).toMatchObject({ error: 'invalid_dpop_proof' });

      // DPOP-NONCE: the nonce key is a secret under the prefix the function reads.
      await setup.secretsManager.send(
        new CreateSecretCommand({
          Name: dpopNonceSecretName(tokenVariables.CLIENT_SECRET_PREFIX!),
          SecretString: randomBytes(32).toString('base64url'),
        }),
      );
      const withNonce = tokenFunction(tokenVariables, clients, (c) => ({
        ...c,
        service: { ...c.service, dpop: { ...c.service.dpop, nonceRequired: true } },
      }));
      const asked = await withNonce.handler(
        tokenRequest(client, await mint(client.clientId), {
          dpop: await key.proof({ htu: `${ISSUER}/token`, iat: Math.floor(Date.now() / 1000) }),
        }),
      );
      expect(bodyOf(asked)).toMatchObject({ error: 'use_dpop_nonce' });
      const nonce = asked.headers['dpop-nonce'];
      const withNonceAnswer = await withNonce.handler(
        tokenRequest(client, await mint(client.clientId), {
          dpop: await key.proof({
            htu: `${ISSUER}/token`,
            iat: Math.floor(Date.now() / 1000),
            nonce,
          }),
        }),
      );
      expect(withNonceAnswer.statusCode).toBe(200);

      // AUTH-SECRET rotation: the previous secret is read by its staging label during its grace.
      const [rotated] = await operator(
        'clients',
        'rotate-secret',
        '--client-id',
        client.clientId,
        '--grace',
        '600',
        '--json',
      );
      const newSecret = (JSON.parse(rotated!) as { client_secret: string }).client_secret;
      for (const secret of [newSecret, client.clientSecret]) {
        const res = await fn.handler(
          tokenRequest({ ...client, clientSecret: secret }, await mint(client.clientId)),
        );
        expect(res.statusCode).toBe(200);
      }

      // A client that does not exist, and one whose secret is gone: invalid_client.
      const nobody = await fn.handler(
        tokenRequest({ clientId: 'nobody', clientSecret: 'x'.repeat(43) }, await mint('nobody')),
      );
      expect(bodyOf(nobody)).toMatchObject({ error: 'invalid_client' });
      const orphan = await addClient(operator, uniqueName('orphan'));
      const record = await new DynamoDbClientRegistry(setup.dynamodb, clientsTable).get(
        orphan.clientId,
      );
      await setup.secretsManager.send(
        new DeleteSecretCommand({ SecretId: record!.secretRef, ForceDeleteWithoutRecovery: true }),
      );
      const noSecret = await fn.handler(tokenRequest(orphan, await mint(orphan.clientId)));
      expect(bodyOf(noSecret)).toMatchObject({ error: 'invalid_client' });

      // KMS fails the signature after the jti was claimed: the claim is given back (DeleteItem),
      // so the same assertion then succeeds.
      recorder.failNext((c) => c.accessKeyId === KEYS.token.accessKeyId && c.action === 'Sign', {
        type: 'KMSInternalException',
        status: 500,
      });
      const retried = await mint(client.clientId);
      const failed = await fn.handler(tokenRequest(client, retried));
      expect(failed.statusCode).toBe(503);
      expect(fn.outcomes.at(-1)).toEqual({
        error: 'temporarily_unavailable',
        reason: 'signer_unavailable',
      });
      expect((await fn.handler(tokenRequest(client, retried))).statusCode).toBe(200);
    } finally {
      destroyClients(clients);
    }

    const calls = (flows.token = callsOf(KEYS.token));
    expect(new Set(calls.map((c) => `${c.service}:${c.action}`))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'secretsmanager:GetSecretValue',
        'kms:GetPublicKey',
        'kms:Sign',
      ]),
    );
    await expectAllowed(calls, optionsFor(policies));
  });

  function publisherProperties(): JwksPublisherProperties {
    const resource = server.template.Resources[server.ids.publishedJwks]!;
    return policies.resolve(resource.Properties) as JwksPublisherProperties;
  }

  test('JWKS publisher: Create and a rotation Update with the properties the template gives it: every call allowed', async () => {
    const { publish, kms } = jwksPublisher(recorder.endpoint, region, KEYS.publisher);
    try {
      const events = publisherEvents(publisherProperties());
      const created = await publish(events.create());
      expect(parsePublishedJwks(created.Data!.Jwks as string).keys).toHaveLength(2);
      const retired = await publish(
        events.update([bindings.physical[server.ids.activeKey] as string], JWKS_PHYSICAL_ID),
      );
      expect(parsePublishedJwks(retired.Data!.Jwks as string).keys).toHaveLength(1);
    } finally {
      kms.destroy();
    }
    const calls = (flows.publisher = callsOf(KEYS.publisher));
    expect(new Set(calls.map((c) => c.action))).toEqual(new Set(['GetPublicKey']));
    await expectAllowed(calls, optionsFor(policies));
  });

  test('admin --stack: add, show, update, list, disable, enable, rotate-secret, remove: every call allowed', async () => {
    const id = uniqueName('adm');
    await addClient(operator, id);
    await operator('clients', 'show', '--client-id', id);
    await operator('clients', 'update', '--client-id', id, '--scope', 'read');
    expect(await operator('clients', 'list', '--json')).toHaveLength(1);
    await operator('clients', 'disable', '--client-id', id);
    await operator('clients', 'enable', '--client-id', id);
    await operator('clients', 'rotate-secret', '--client-id', id, '--grace', '600');
    // A grace label stays on the version that loses AWSCURRENT, and the next rotation removes it
    // (UpdateSecretVersionStage). moto drops it on its own: put it back where AWS leaves it.
    const { secretRef } = (await new DynamoDbClientRegistry(setup.dynamodb, clientsTable).get(id))!;
    const { Versions } = await setup.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: secretRef }),
    );
    await setup.secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretRef,
        VersionStage: `${PREVIOUS_UNTIL_LABEL}1`,
        MoveToVersionId: Versions!.find((v) => v.VersionStages?.includes('AWSPREVIOUS'))!
          .VersionId!,
      }),
    );
    await operator('clients', 'rotate-secret', '--client-id', id, '--grace', '0');
    expect(await operator('clients', 'remove', '--client-id', id)).toEqual([
      `Removed client ${id}`,
    ]);

    const calls = (flows.operator = callsOf(KEYS.operator));
    expect(calls.some((c) => c.action === 'DescribeStacks')).toBe(true);
    await expectAllowed(calls, optionsFor(policies));
  });

  test('admin --stack with another stack’s name: the operator policy refuses DescribeStacks on it (moto says "does not exist")', async () => {
    const before = recorder.calls.length;
    await operator('clients', 'list');
    const other = await admin(
      recorder.endpoint,
      region,
      KEYS.operator,
      'NoSuchStack',
      'clients',
      'list',
    ).catch((e: unknown) => e as Error);
    expect((other as Error).message).toMatch(/stack NoSuchStack does not exist/);
    const verdicts = await evaluateCalls(recorder.calls.slice(before), optionsFor(policies));
    expect(verdicts.map((v) => [v.request.resource, v.decision])).toEqual(
      expect.arrayContaining([
        [
          `arn:aws:cloudformation:${region}:${bindings.account}:stack/NoSuchStack/*`,
          'ImplicitlyDenied',
        ],
      ]),
    );
    expect(verdicts.filter((v) => v.decision === 'Allowed').map((v) => v.request.action)).toContain(
      'cloudformation:DescribeStacks',
    );
  });

  test('the original defect: GetItem on the replay table by the token role is refused, naming the action and the table', async () => {
    const db = new DynamoDBClient({
      endpoint: recorder.endpoint,
      region,
      credentials: KEYS.token,
      maxAttempts: 1,
    });
    const before = recorder.calls.length;
    try {
      // moto answers both: only the evaluation can tell them apart.
      for (const [table, key] of [
        [replayTable, REPLAY_TABLE.partitionKey],
        [clientsTable, CLIENTS_TABLE.partitionKey],
      ] as const)
        await db.send(new GetItemCommand({ TableName: table, Key: { [key]: { S: 'x' } } }));
    } finally {
      db.destroy();
    }
    const [onReplay, onClients] = await evaluateCalls(
      recorder.calls.slice(before),
      optionsFor(policies),
    );
    const replayArn = `arn:aws:dynamodb:${region}:${bindings.account}:table/${replayTable}`;
    expect(onReplay).toMatchObject({
      decision: 'ImplicitlyDenied',
      request: { action: 'dynamodb:GetItem', resource: replayArn },
    });
    expect(describeVerdict(onReplay!)).toMatch(
      new RegExp(`dynamodb:GetItem on ${replayArn} is ImplicitlyDenied: missing: an Allow`),
    );
    expect(describeVerdict(onReplay!)).toContain(server.ids.tokenRole);
    expect(onClients).toMatchObject({ decision: 'Allowed' });
    await expect(expectAllowed(recorder.calls.slice(before), optionsFor(policies))).rejects.toThrow(
      `dynamodb:GetItem on ${replayArn}`,
    );
  });

  test('KMS: a Sign with another algorithm is refused by the key policy condition; the publisher needs the key policy, not only its own policy', async () => {
    const kms = new KMSClient({
      endpoint: recorder.endpoint,
      region,
      credentials: KEYS.token,
      maxAttempts: 1,
    });
    const before = recorder.calls.length;
    const activeKeyArn = bindings.physical[server.ids.activeKey] as string;
    try {
      await kms.send(
        new SignCommand({
          KeyId: activeKeyArn,
          Message: Buffer.from('x'),
          MessageType: 'RAW',
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        }),
      );
    } finally {
      kms.destroy();
    }
    const [pss] = await evaluateCalls(recorder.calls.slice(before), optionsFor(policies));
    expect(pss).toMatchObject({
      decision: 'ImplicitlyDenied',
      request: { action: 'kms:Sign', context: { 'kms:SigningAlgorithm': 'RSASSA_PSS_SHA_256' } },
    });
    expect(describeVerdict(pss!)).toContain(`the resource policy of ${server.ids.activeKey}`);

    // The publisher's identity policy allows GetPublicKey, but a key policy that does not name
    // it (and does not delegate to IAM) still refuses: KMS weighs the key policy first.
    const mutated = structuredClone(server.template) as CfnTemplate;
    for (const id of server.ids.keys) {
      const doc = mutated.Resources[id]!.Properties!.KeyPolicy as PolicyDocument;
      for (const s of doc.Statement) {
        const p = s.Principal as { AWS?: unknown };
        if (Array.isArray(p.AWS))
          p.AWS = p.AWS.filter(
            (x) =>
              (x as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0] !== server.ids.publisherRole,
          );
      }
    }
    const keyPolicyOnly = await evaluateCalls(
      flows.publisher,
      optionsFor(new TemplatePolicies(mutated, bindings)),
    );
    expect(keyPolicyOnly.length).toBeGreaterThan(0);
    expect(keyPolicyOnly.every((v) => v.decision === 'ImplicitlyDenied')).toBe(true);
  });

  test('the operator creates a secret only with the stack tag: the request’s tags are condition keys', async () => {
    const creates = flows.operator.filter((c) => c.action === 'CreateSecret');
    expect(creates.length).toBeGreaterThan(0);
    const untagged = creates.map((c) => ({ ...c, params: { ...c.params, Tags: [] } }));
    const otherStack = creates.map((c) => ({
      ...c,
      params: { ...c.params, Tags: [{ Key: 'xaa-auth-server:stack', Value: 'SomeOtherStack' }] },
    }));
    for (const calls of [untagged, otherStack]) {
      const verdicts = await evaluateCalls(calls, optionsFor(policies));
      expect(verdicts.map((v) => `${v.request.action} ${v.decision}`)).toEqual(
        expect.arrayContaining(['secretsmanager:CreateSecret ImplicitlyDenied']),
      );
      expect(verdicts.every((v) => v.decision !== 'Allowed')).toBe(true);
    }
  });

  test('calls recorded without their answers or region (as test/support/bundles.ts records them) weigh the same', async () => {
    const bare = [...flows.token, ...flows.publisher, ...flows.operator].map(
      ({ response: _response, region: _region, ...call }) => call,
    );
    await expectAllowed(bare, optionsFor(policies));
  });

  test('a grant taken out of the template refuses the recorded calls that need it: PutItem on the replay table', async () => {
    const calls = flows.token;
    expect(calls.length).toBeGreaterThan(0);
    const mutated = new TemplatePolicies(
      withoutAction(server.template, server.ids.tokenRole, 'dynamodb:PutItem'),
      bindings,
    );
    const refused = denials(await evaluateCalls(calls, optionsFor(mutated)));
    const replayArn = `arn:aws:dynamodb:${region}:${bindings.account}:table/${replayTable}`;
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((v) => `${v.request.action} ${v.request.resource}`))).toEqual(
      new Set([`dynamodb:PutItem ${replayArn}`]),
    );
    await expect(expectAllowed(calls, optionsFor(mutated))).rejects.toThrow(
      /dynamodb:PutItem on \S+ is ImplicitlyDenied: missing: an Allow for dynamodb:PutItem/,
    );
  });

  /**
   * For each action a principal holds (identity policies and key-policy statements naming it):
   * the template without it must refuse at least one of `calls`, and only calls of that action.
   * Resolves to the actions no call needed.
   */
  async function unneededActions(
    calls: readonly AwsCall[],
    principalId: string,
    principal: Principal,
  ): Promise<string[]> {
    expect(calls.length).toBeGreaterThan(0); // recorded by the flow tests above
    const unneeded: string[] = [];
    const strays: string[] = [];
    for (const action of policies.actionsHeldBy(principal)) {
      const mutated = new TemplatePolicies(
        withoutAction(server.template, principalId, action),
        bindings,
      );
      const refused = denials(await evaluateCalls(calls, optionsFor(mutated)));
      if (refused.length === 0) unneeded.push(action);
      for (const v of refused)
        if (v.request.action.toLowerCase() !== action.toLowerCase())
          strays.push(`without ${action}: ${describeVerdict(v)}`);
    }
    expect(strays).toEqual([]);
    return unneeded;
  }

  // Granted for the Lambda service and the X-Ray daemon, not for the code's SDK calls: the
  // service writes the function's logs with the role, and traces leave as UDP datagrams to the
  // daemon, which sends them with the role. No recorded call can need them.
  const RUNTIME_ONLY = [
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ];

  test('every action the token role holds is needed by a recorded call of the token flows', async () => {
    const role = policies.role(server.ids.tokenRole);
    expect(await unneededActions(flows.token, server.ids.tokenRole, role)).toEqual(RUNTIME_ONLY);
  });

  test('every action the publisher role holds is needed by a recorded publisher call', async () => {
    const role = policies.role(server.ids.publisherRole);
    expect(await unneededActions(flows.publisher, server.ids.publisherRole, role)).toEqual(
      RUNTIME_ONLY,
    );
  });

  test('every action the operator policy grants is needed by a recorded admin call', async () => {
    const operatorPrincipal = optionsFor(policies).principalOf(flows.operator[0]!)!;
    expect(
      await unneededActions(flows.operator, server.ids.operatorPolicy, operatorPrincipal),
    ).toEqual([]);
  });
});

test('the AGPL-3.0 evaluator stays a test-only dependency: nothing shipped imports it', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (
        /\.(ts|mts|js|mjs)$/.test(name) &&
        readFileSync(path, 'utf8').includes('@cloud-copilot/')
      )
        offenders.push(path.slice(root.length));
    }
  };
  for (const dir of ['lib', 'lambda', 'bin']) walk(join(root, dir));
  expect(offenders).toEqual([]);
});
