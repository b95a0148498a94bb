/**
 * The components on a moto_server that enforces IAM, each signing as an IAM user that holds exactly
 * the actions its role holds in the synthesized template (identity policies plus the key-policy
 * statements naming it), derived from the template, never listed by hand. moto checks actions only
 * (test/support/iam/moto-iam.ts): resources, key policies and conditions are weighed by
 * iam-evaluation.moto.test.ts. The last tests take one needed action away and show the component
 * failing on it.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { JWKS_PHYSICAL_ID, type JwksPublisherProperties } from '../../lambda/aws/jwks-publisher.js';
import { parsePublishedJwks } from '../../lambda/cdk-shared/published-jwks.js';
import { REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import { DpopKey } from '../support/dpop.js';
import { bodyOf, ISSUER } from '../support/harness.js';
import { AwsCallRecorder } from '../support/iam/aws-call-recorder.js';
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
  type Credentials,
} from '../support/iam/component-flows.js';
import { httpStatusOf, startMotoWithIam, type MotoWithIam } from '../support/iam/moto-iam.js';
import {
  synthServer,
  uniqueEnvironmentName,
  type SynthesizedServer,
} from '../support/iam/server-template.js';
import { TemplatePolicies, withoutAction } from '../support/iam/template-policies.js';
import { createTable, describeWithMoto, uniqueName } from '../support/moto.js';
import { TestIdp } from '../support/test-idp.js';

/** One needed action taken from each component, and what it then breaks. */
const MUTATIONS = {
  token: 'dynamodb:PutItem',
  publisher: 'kms:GetPublicKey',
  operator: 'secretsmanager:CreateSecret',
} as const;

describeWithMoto('moto enforcing IAM: each component as a user with its role’s actions', () => {
  let idp: TestIdp;
  let server: SynthesizedServer;
  let moto: MotoWithIam;
  let recorder: AwsCallRecorder;
  let actions: Record<string, string[]>;
  let tokenVariables: Record<string, string>;
  let publisherProperties: JwksPublisherProperties;

  const as = (user: string): Credentials => moto.users[user]!;
  const operator =
    (user = 'operator') =>
    (...argv: string[]) =>
      admin(recorder.endpoint, moto.region, as(user), server.stackName, ...argv);
  /** The calls moto refused since `from`: IAM's refusals are 403s naming the action. */
  const refusedSince = (from: number) =>
    recorder.calls
      .slice(from)
      .filter((c) => c.status === 403)
      .map((c) => `${c.caller}: ${c.service}:${c.action} ${c.errorType}`);

  beforeAll(async () => {
    idp = await TestIdp.start();
    server = synthServer(
      {
        trustedIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }],
        signingKeys: [{ id: 'key-1' }, { id: 'key-2', active: true }],
      },
      { environment: uniqueEnvironmentName('moto') },
    );
    // Actions do not depend on physical names: the template as synthesized is enough to read them.
    const named = new TemplatePolicies(server.template, {
      account: '123456789012',
      region: 'us-east-1',
      stackName: server.stackName,
      physical: {},
    });
    const roleOf = {
      token: server.ids.tokenRole,
      publisher: server.ids.publisherRole,
      operator: server.ids.operatorPolicy,
    };
    const principalIn = (p: TemplatePolicies, user: keyof typeof MUTATIONS) =>
      user === 'operator'
        ? p.holder('operator', 'arn:aws:iam::123456789012:user/operator', [roleOf.operator])
        : p.role(roleOf[user]);
    actions = { admin: ['*'] };
    for (const user of Object.keys(MUTATIONS) as Array<keyof typeof MUTATIONS>) {
      actions[user] = named.actionsHeldBy(principalIn(named, user));
      // The same principal in a template without one needed action.
      const mutated = new TemplatePolicies(
        withoutAction(server.template, roleOf[user], MUTATIONS[user]),
        named.bindings,
      );
      actions[`${user}-without-${MUTATIONS[user]}`] = mutated.actionsHeldBy(
        principalIn(mutated, user),
      );
    }
    moto = await startMotoWithIam(actions);
    recorder = await AwsCallRecorder.start(moto.endpoint);
    for (const user of Object.keys(actions)) recorder.name(moto.users[user]!.accessKeyId, user);

    // The deployment, done as the administrator.
    const config = {
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: as('admin'),
      maxAttempts: 1,
    };
    const kms = new KMSClient(config);
    const dynamodb = new DynamoDBClient(config);
    const cfn = new CloudFormationClient(config);
    const tables = { clients: uniqueName('clients'), replay: uniqueName('replay') };
    try {
      const keyArns: string[] = [];
      for (const _ of server.ids.keys)
        keyArns.push(
          (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })))
            .KeyMetadata!.Arn!,
        );
      await createTable(dynamodb, tables.replay, REPLAY_TABLE.partitionKey);
      const policies = new TemplatePolicies(server.template, {
        account: moto.account,
        region: moto.region,
        stackName: server.stackName,
        physical: {
          [server.ids.clientsTable]: tables.clients,
          [server.ids.replayTable]: tables.replay,
          ...Object.fromEntries(server.ids.keys.map((id, i) => [id, keyArns[i]!])),
          [server.ids.api]: { Ref: 'api', ApiEndpoint: ISSUER },
        },
      });
      tokenVariables = policies.environmentOf(server.ids.tokenFunction);
      publisherProperties = policies.resolve(
        server.template.Resources[server.ids.publishedJwks]!.Properties,
      ) as JwksPublisherProperties;
      await createAdminStack(cfn, server.stackName, tables.clients, policies.outputs());
    } finally {
      destroyClients({ kms, dynamodb, cfn });
    }
  });
  afterAll(async () => {
    await Promise.all([recorder?.stop(), moto?.stop(), idp?.stop()]);
  });

  test('the users hold what the template grants: the token role’s actions include its key-policy grants', () => {
    expect(actions.token).toEqual(
      expect.arrayContaining([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'secretsmanager:GetSecretValue',
        'kms:Sign',
        'kms:GetPublicKey',
      ]),
    );
    expect(actions['token-without-dynamodb:PutItem']).toEqual(
      actions.token!.filter((a) => a !== 'dynamodb:PutItem'),
    );
  });

  test('moto enforces them: an action the user does not hold is refused', async () => {
    const db = new DynamoDBClient({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: as('token'),
      maxAttempts: 1,
    });
    try {
      const err = await db
        .send(new ScanCommand({ TableName: tokenVariables.CLIENTS_TABLE_NAME! }))
        .catch((e: unknown) => e);
      expect(httpStatusOf(err)).toBe(403);
    } finally {
      db.destroy();
    }
  });

  test('admin --stack as the operator: add, list, rotate-secret, remove', async () => {
    const from = recorder.calls.length;
    const run = operator();
    const { clientId } = await addClient(run, uniqueName('op'));
    expect(JSON.parse((await run('clients', 'list', '--json'))[0]!)).toEqual([
      expect.objectContaining({ client_id: clientId }),
    ]);
    await run('clients', 'rotate-secret', '--client-id', clientId, '--grace', '60');
    expect(await run('clients', 'remove', '--client-id', clientId)).toEqual([
      `Removed client ${clientId}`,
    ]);
    expect(refusedSince(from)).toEqual([]);
  });

  test('the token function as its role: a token, then the replayed ID-JAG is 400 invalid_grant (never 503), and a DPoP proof replay is refused', async () => {
    const client = await addClient(operator(), uniqueName('tok'));
    const from = recorder.calls.length;
    const clients = tokenFunctionClients(recorder.endpoint, moto.region, as('token'));
    try {
      const fn = tokenFunction(tokenVariables, clients);
      const assertion = await idp.mint({ audience: ISSUER, clientId: client.clientId });
      const issued = await fn.handler(tokenRequest(client, assertion));
      expect(issued.statusCode).toBe(200);
      const replayed = await fn.handler(tokenRequest(client, assertion));
      expect({ status: replayed.statusCode, body: bodyOf(replayed) }).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant' },
      });
      expect(fn.outcomes.at(-1)).toEqual({ error: 'invalid_grant', reason: 'jti_replayed' });

      const key = await DpopKey.generate();
      const proof = await key.proof({
        htu: `${ISSUER}/token`,
        iat: Math.floor(Date.now() / 1000),
      });
      const mint = () =>
        idp.mint({ audience: ISSUER, clientId: client.clientId }, { cnf: { jkt: key.jkt } });
      expect(
        bodyOf(await fn.handler(tokenRequest(client, await mint(), { dpop: proof }))),
      ).toMatchObject({
        token_type: 'DPoP',
      });
      expect(
        bodyOf(await fn.handler(tokenRequest(client, await mint(), { dpop: proof }))),
      ).toMatchObject({
        error: 'invalid_dpop_proof',
      });
    } finally {
      destroyClients(clients);
    }
    expect(refusedSince(from)).toEqual([]);
  });

  test('the JWKS publisher as its role: both keys published, and the rotation update', async () => {
    const from = recorder.calls.length;
    const { publish, kms } = jwksPublisher(recorder.endpoint, moto.region, as('publisher'));
    try {
      const events = publisherEvents(publisherProperties);
      const created = await publish(events.create());
      expect(parsePublishedJwks(created.Data!.Jwks as string).keys).toHaveLength(2);
      const updated = await publish(
        events.update([publisherProperties.KeyIds[1]!], JWKS_PHYSICAL_ID),
      );
      expect(parsePublishedJwks(updated.Data!.Jwks as string).keys).toHaveLength(1);
    } finally {
      kms.destroy();
    }
    expect(refusedSince(from)).toEqual([]);
  });

  describe('without one needed action, the component fails on it', () => {
    test(`token function without ${MUTATIONS.token}: 503, and moto refused the claim`, async () => {
      const client = await addClient(operator(), uniqueName('mut'));
      const from = recorder.calls.length;
      const user = `token-without-${MUTATIONS.token}`;
      const clients = tokenFunctionClients(recorder.endpoint, moto.region, as(user));
      try {
        const fn = tokenFunction(tokenVariables, clients);
        const res = await fn.handler(
          tokenRequest(client, await idp.mint({ audience: ISSUER, clientId: client.clientId })),
        );
        expect(res.statusCode).toBe(503);
        expect(fn.outcomes.at(-1)).toEqual({
          error: 'temporarily_unavailable',
          reason: 'replay_guard_unavailable',
        });
      } finally {
        destroyClients(clients);
      }
      expect(refusedSince(from)).toEqual([`${user}: dynamodb:PutItem AccessDenied`]);
    });

    test(`JWKS publisher without ${MUTATIONS.publisher}: the deploy fails naming the key`, async () => {
      const from = recorder.calls.length;
      const user = `publisher-without-${MUTATIONS.publisher}`;
      const { publish, kms } = jwksPublisher(recorder.endpoint, moto.region, as(user));
      try {
        await expect(publish(publisherEvents(publisherProperties).create())).rejects.toThrow(
          `cannot read the public key of ${publisherProperties.KeyIds[0]}`,
        );
        // Every key is read at once: the first refusal ends the deploy before the others answer.
        const deadline = Date.now() + 5000;
        while (
          recorder.calls.length - from < publisherProperties.KeyIds.length &&
          Date.now() < deadline
        )
          await new Promise((r) => setTimeout(r, 20));
      } finally {
        kms.destroy();
      }
      expect(new Set(refusedSince(from))).toEqual(
        new Set([`${user}: kms:GetPublicKey AccessDenied`]),
      );
    });

    test(`admin without ${MUTATIONS.operator}: clients add fails, and nothing is left behind`, async () => {
      const from = recorder.calls.length;
      const user = `operator-without-${MUTATIONS.operator}`;
      const id = uniqueName('nope');
      await expect(addClient(operator(user), id)).rejects.toThrow();
      expect(refusedSince(from)).toEqual([`${user}: secretsmanager:CreateSecret AccessDenied`]);
      expect(await operator()('clients', 'list')).not.toContainEqual(expect.stringContaining(id));
    });
  });
});
