/**
 * The wrapped-key mode's AWS calls weighed against its synthesized policies (test/support/iam/),
 * as test/aws/iam-evaluation.moto.test.ts does for the kms mode: the deploy-time generator and the
 * token function run against moto through the recording proxy, each with its own access key, and
 * every call must be allowed by the role the template gives it and by the wrapping key's policy.
 * The last tests show the key policy's encryption-context condition refusing what it should.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import {
  createWrappedKeyGenerator,
  type WrappedKeyData,
  type WrappedKeyProperties,
} from '../../lambda/aws/wrapped-key-generator.js';
import { bodyOf, ISSUER, RESOURCE } from '../support/harness.js';
import { AwsCallRecorder, type AwsCall } from '../support/iam/aws-call-recorder.js';
import {
  addClient,
  admin,
  createAdminStack,
  destroyClients,
  sdkConfig,
  tokenFunction,
  tokenFunctionClients,
  tokenRequest,
} from '../support/iam/component-flows.js';
import {
  evaluateCalls,
  expectAllowed,
  type EvaluationOptions,
} from '../support/iam/evaluate-calls.js';
import {
  synthServer,
  uniqueEnvironmentName,
  type SynthesizedServer,
} from '../support/iam/server-template.js';
import { TemplatePolicies, type Principal } from '../support/iam/template-policies.js';
import {
  createTable,
  describeWithMoto,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';
import { TestIdp } from '../support/test-idp.js';

const KEYS = {
  token: { accessKeyId: 'AKIAWRAPPEDTOKEN', secretAccessKey: 'token' },
  generator: { accessKeyId: 'AKIAWRAPGENERATOR', secretAccessKey: 'generator' },
  operator: { accessKeyId: 'AKIAWRAPOPERATOR', secretAccessKey: 'operator' },
};

describeWithMoto(
  'IAM evaluation, wrapped-key mode: every AWS call allowed by the synthesized policies',
  () => {
    let moto: Moto;
    let idp: TestIdp;
    let recorder: AwsCallRecorder;
    let server: SynthesizedServer;
    let policies: TemplatePolicies;
    let region: string;
    let ids: { generatorRole: string; wrappedKey: string };
    let wrapped: WrappedKeyData;
    const flows = { token: [] as AwsCall[], generator: [] as AwsCall[] };

    const optionsFor = (p: TemplatePolicies): EvaluationOptions => {
      const byKey: Record<string, Principal> = {
        [KEYS.token.accessKeyId]: p.role(server.ids.tokenRole, 'token-function'),
        [KEYS.generator.accessKeyId]: p.role(ids.generatorRole, 'wrapped-key-generator'),
        [KEYS.operator.accessKeyId]: p.holder(
          'the operator',
          `arn:aws:sts::${p.bindings.account}:assumed-role/Operator/alice`,
          [server.ids.operatorPolicy],
        ),
      };
      return { policies: p, principalOf: (c) => byKey[c.accessKeyId] };
    };

    beforeAll(async () => {
      [moto, idp] = await Promise.all([startMoto(), TestIdp.start()]);
      region = moto.clientConfig.region;
      server = synthServer(
        {
          trustedIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }],
          signing: 'wrapped-key',
          signingKeys: [{ id: 'key-1', active: true }],
        },
        { environment: uniqueEnvironmentName('wrap') },
      );
      const ofType = (type: string, prefix: string) =>
        Object.entries(server.template.Resources).find(
          ([id, r]) => r.Type === type && id.includes(prefix),
        )![0];
      ids = {
        generatorRole: ofType('AWS::IAM::Role', 'WrappedKeyGeneratorRole'),
        wrappedKey: ofType('Custom::WrappedSigningKey', 'WrappedKeyGenerator'),
      };
      recorder = await AwsCallRecorder.start(moto.endpoint);

      const setup = {
        kms: new KMSClient(moto.clientConfig),
        dynamodb: new DynamoDBClient(moto.clientConfig),
      };
      const wrappingKey = (
        await setup.kms.send(
          new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
        )
      ).KeyMetadata!.Arn!;
      const replayTable = uniqueName('replay');
      const clientsTable = uniqueName('clients');
      await createTable(setup.dynamodb, replayTable, REPLAY_TABLE.partitionKey);
      const physical: Record<string, string | Record<string, string>> = {
        [server.ids.clientsTable]: clientsTable,
        [server.ids.replayTable]: replayTable,
        [server.ids.activeKey]: wrappingKey,
        [server.ids.tokenRole]: 'xaa-token-function-role',
        [ids.generatorRole]: 'xaa-wrapped-key-generator-role',
        [server.ids.api]: { Ref: 'api', ApiEndpoint: ISSUER },
      };
      const bindings = {
        account: wrappingKey.split(':')[4]!,
        region,
        stackName: server.stackName,
        physical,
      };

      // Deploy time: the generator answers CloudFormation's Create with the template's properties.
      const generatorClients = {
        kms: new KMSClient(sdkConfig(recorder.endpoint, region, KEYS.generator)),
        secrets: new SecretsManagerClient(sdkConfig(recorder.endpoint, region, KEYS.generator)),
      };
      const properties = new TemplatePolicies(server.template, bindings).resolve(
        server.template.Resources[ids.wrappedKey]!.Properties,
      ) as WrappedKeyProperties;
      const generate = createWrappedKeyGenerator(generatorClients.kms, generatorClients.secrets);
      const event = (type: string, extra: object = {}) =>
        ({
          RequestType: type,
          ResourceProperties: properties,
          OldResourceProperties: properties,
          ...extra,
        }) as unknown as CdkCustomResourceEvent<WrappedKeyProperties>;
      wrapped = (await generate(event('Create'))).Data!;
      await generate(event('Update', { PhysicalResourceId: wrapped.SecretArn }));
      // A second key made and deleted, so the generator's Delete is recorded too.
      const spare = await generate(event('Create'));
      await generate(event('Delete', { PhysicalResourceId: spare.PhysicalResourceId }));
      destroyClients(generatorClients);

      physical[ids.wrappedKey] = {
        Ref: wrapped.SecretArn,
        SecretArn: wrapped.SecretArn,
        Kid: wrapped.Kid,
        PublicJwk: wrapped.PublicJwk,
      };
      policies = new TemplatePolicies(server.template, bindings);
      const cfn = new CloudFormationClient(moto.clientConfig);
      await createAdminStack(cfn, server.stackName, clientsTable, policies.outputs());
      cfn.destroy();
      destroyClients(setup);
    });
    afterAll(async () => {
      await Promise.all([recorder?.stop(), moto?.stop(), idp?.stop()]);
    });

    test('the generator: Create, Update, Delete: every call allowed', async () => {
      const calls = (flows.generator = recorder.callsBy(KEYS.generator.accessKeyId));
      expect(new Set(calls.map((c) => `${c.service}:${c.action}`))).toEqual(
        new Set([
          'kms:Encrypt',
          'secretsmanager:CreateSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:DeleteSecret',
        ]),
      );
      await expectAllowed(calls, optionsFor(policies));
    });

    test('the token function decrypts once and signs: every call allowed, no kms:Sign among them', async () => {
      const variables = policies.environmentOf(server.ids.tokenFunction);
      expect(variables).toMatchObject({
        SIGNING_MODE: 'wrapped-key',
        SIGNING_KEY_KID: wrapped.Kid,
      });
      const clients = tokenFunctionClients(recorder.endpoint, region, KEYS.token);
      const operator = (...argv: string[]) =>
        admin(recorder.endpoint, region, KEYS.operator, server.stackName, ...argv);
      try {
        const fn = tokenFunction(variables, clients);
        const client = await addClient(operator, uniqueName('c'));
        for (let i = 0; i < 2; i++) {
          const res = await fn.handler(
            tokenRequest(client, await idp.mint({ audience: ISSUER, clientId: client.clientId })),
          );
          expect(res.statusCode).toBe(200);
          await jwtVerify(
            bodyOf(res).access_token as string,
            createLocalJWKSet({ keys: [JSON.parse(wrapped.PublicJwk)] }),
            { issuer: ISSUER, audience: RESOURCE },
          );
        }
      } finally {
        destroyClients(clients);
      }
      const calls = (flows.token = recorder.callsBy(KEYS.token.accessKeyId));
      expect(calls.filter((c) => c.action === 'Decrypt')).toHaveLength(1);
      expect(new Set(calls.map((c) => `${c.service}:${c.action}`))).toEqual(
        new Set([
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'secretsmanager:GetSecretValue',
          'kms:Decrypt',
        ]),
      );
      await expectAllowed(calls, optionsFor(policies));
    });

    test('the key policy refuses the token role a Decrypt under another context, and any Sign', async () => {
      const decrypt = flows.token.find((c) => c.action === 'Decrypt')!;
      const params = decrypt.params as { EncryptionContext: Record<string, string> };
      const otherContext: AwsCall = {
        ...decrypt,
        params: {
          ...params,
          EncryptionContext: { ...params.EncryptionContext, 'signing-key': 'another/key' },
        },
      };
      const extraMember: AwsCall = {
        ...decrypt,
        params: { ...params, EncryptionContext: { ...params.EncryptionContext, extra: 'x' } },
      };
      const sign: AwsCall = {
        ...decrypt,
        action: 'Sign',
        params: { KeyId: params['KeyId' as never] },
      };
      const verdicts = await evaluateCalls([otherContext, extraMember, sign], optionsFor(policies));
      expect(verdicts.map((v) => `${v.request.action} ${v.decision}`)).toEqual([
        'kms:Decrypt ImplicitlyDenied',
        'kms:Decrypt ImplicitlyDenied',
        'kms:Sign ImplicitlyDenied',
      ]);
      // The generator, which may Encrypt, may not Decrypt its own ciphertext.
      const asGenerator = { ...decrypt, accessKeyId: KEYS.generator.accessKeyId };
      const [generatorDecrypt] = await evaluateCalls([asGenerator], optionsFor(policies));
      expect(generatorDecrypt!.decision).toBe('ImplicitlyDenied');
    });
  },
);
