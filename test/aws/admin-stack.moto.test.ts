/** `npm run admin -- --stack NAME clients ...` against a stack deployed to moto's CloudFormation. */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  PREVIOUS_UNTIL_LABEL,
  previousUntil,
  SecretsManagerSecretStore,
} from '../../lambda/aws/secrets-manager-secret-store.js';
import { authenticateClient } from '../../lambda/oauth/client-auth.js';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { CLIENT_SECRET_STACK_TAG, STACK_OUTPUTS } from '../../lambda/cdk-shared/stack-outputs.js';
import type { StackAdminClients } from '../../local/admin/stack-client-admin.js';
import { CLIENTS_TABLE } from '../../lambda/cdk-shared/tables.js';
import { describeWithMoto, startMoto, uniqueName, type Moto } from '../support/moto.js';

describeWithMoto('admin --stack on moto', () => {
  let moto: Moto;
  let stackName: string;
  let tableName: string;
  const prefix = () => `xaa-auth-server/${stackName}/clients/`;
  const clients = (): StackAdminClients => ({
    cloudFormation: new CloudFormationClient(moto.clientConfig),
    dynamodb: new DynamoDBClient(moto.clientConfig),
    secretsManager: new SecretsManagerClient(moto.clientConfig),
  });

  beforeAll(async () => {
    moto = await startMoto();
    stackName = uniqueName('XaaTest');
    tableName = uniqueName('clients');
    // The part of the real stack the admin relies on: the clients table and the two outputs.
    const template = {
      Resources: {
        Clients: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            TableName: tableName,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: CLIENTS_TABLE.partitionKey, AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: CLIENTS_TABLE.partitionKey, KeyType: 'HASH' }],
          },
        },
      },
      Outputs: {
        [STACK_OUTPUTS.issuer]: { Value: 'https://as.example.test' },
        [STACK_OUTPUTS.clientsTable]: { Value: { Ref: 'Clients' } },
        [STACK_OUTPUTS.secretPrefix]: { Value: `xaa-auth-server/${stackName}/clients/` },
        // What the stack's token function runs with: the admin judges by it, not by its own env.
        [STACK_OUTPUTS.serviceEnvironment]: {
          Value: JSON.stringify({
            TRUSTED_ISSUERS: JSON.stringify([
              { issuer: 'https://idp.stack.example', jwks_uri: 'https://idp.stack.example/jwks' },
            ]),
            MAX_ACCESS_TOKEN_TTL: '7200',
          }),
        },
      },
    };
    const cfn = new CloudFormationClient(moto.clientConfig);
    await cfn.send(
      new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }),
    );
    cfn.destroy();
  });
  afterAll(() => moto?.stop());

  async function admin(...argv: string[]): Promise<string[]> {
    const lines: string[] = [];
    await runAdmin(argv, {}, (l) => lines.push(l), { awsClients: clients });
    return lines;
  }

  test('add writes the record to the stack table and the secret under the stack prefix; list and remove follow', async () => {
    const [line] = await admin(
      '--stack',
      stackName,
      'clients',
      'add',
      '--client-id',
      'acme',
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      '--json',
    );
    const { client_id, client_secret } = JSON.parse(line!) as {
      client_id: string;
      client_secret: string;
    };
    expect(client_id).toBe('acme');

    const c = clients();
    const record = await new DynamoDbClientRegistry(c.dynamodb, tableName).get('acme');
    expect(record?.secretRef.startsWith(`${prefix()}acme/`)).toBe(true);
    const stored = await c.secretsManager.send(
      new GetSecretValueCommand({ SecretId: record!.secretRef }),
    );
    expect(stored.SecretString).toBe(client_secret);
    // Tagged with the stack: the operator policy (lib/operator-policy.ts) allows no other CreateSecret.
    const { Tags } = await c.secretsManager.send(
      new DescribeSecretCommand({ SecretId: record!.secretRef }),
    );
    expect(Tags).toEqual([{ Key: CLIENT_SECRET_STACK_TAG, Value: stackName }]);

    // --stack may come after the command too.
    expect(
      JSON.parse((await admin('clients', 'list', '--json', '--stack', stackName))[0]!),
    ).toEqual([
      { client_id: 'acme', scope: 'read', resources: ['https://api.example.com/'], enabled: true },
    ]);
    expect(await admin('--stack', stackName, 'clients', 'remove', '--client-id', 'acme')).toEqual([
      'Removed client acme',
    ]);
    await expect(
      c.secretsManager.send(new GetSecretValueCommand({ SecretId: record!.secretRef })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await admin('--stack', stackName, 'clients', 'list')).toEqual([
      'No clients registered.',
    ]);
    for (const client of Object.values(c)) client.destroy();
  });

  test('AUTH-SECRET: rotate-secret on the stack: AWSCURRENT/AWSPREVIOUS with the grace end as a label; both secrets authenticate until it, then only the new one', async () => {
    const [line] = await admin(
      '--stack',
      stackName,
      'clients',
      'add',
      '--client-id',
      'rotating',
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      '--json',
    );
    const first = (JSON.parse(line!) as { client_secret: string }).client_secret;
    const before = Math.floor(Date.now() / 1000);
    const [rotated] = await admin(
      '--stack',
      stackName,
      'clients',
      'rotate-secret',
      '--client-id',
      'rotating',
      '--grace',
      '600',
      '--json',
    );
    const second = (JSON.parse(rotated!) as { client_secret: string }).client_secret;
    const c = clients();
    const record = (await new DynamoDbClientRegistry(c.dynamodb, tableName).get('rotating'))!;
    const current = await c.secretsManager.send(
      new GetSecretValueCommand({ SecretId: record.secretRef }),
    );
    expect(current.SecretString).toBe(second);
    const until = previousUntil(current.VersionStages)!;
    expect(until).toBeGreaterThanOrEqual(before + 600);
    expect(until).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);

    let now = until - 600;
    const reader = new SecretsManagerSecretStore(c.secretsManager, {
      prefix: prefix(),
      now: () => now * 1000,
    });
    const registry = { get: async () => record };
    const authenticates = (clientSecret: string) =>
      authenticateClient(
        { method: 'client_secret_post', clientId: 'rotating', clientSecret },
        registry,
        reader,
        { now: () => now },
      ).then(
        () => true,
        () => false,
      );
    expect(await authenticates(second)).toBe(true);
    expect(await authenticates(first)).toBe(true);
    now = until;
    expect(await authenticates(first)).toBe(false);
    expect(await authenticates(second)).toBe(true);

    // A second rotation moves the label; the old version keeps none (a secret holds few labels).
    await admin('--stack', stackName, 'clients', 'rotate-secret', '--client-id', 'rotating');
    const { Versions } = await c.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: record.secretRef }),
    );
    const labelled = (Versions ?? []).filter((v) =>
      (v.VersionStages ?? []).some((s) => s.startsWith(PREVIOUS_UNTIL_LABEL)),
    );
    expect(labelled).toHaveLength(1);
    expect(labelled[0]!.VersionStages).toContain('AWSCURRENT');
    for (const client of Object.values(c)) client.destroy();
  });

  test('add judges by the stack\u2019s configuration (its ServiceEnvironment output), not the shell\u2019s', async () => {
    const add = (...extra: string[]) =>
      admin(
        '--stack',
        stackName,
        'clients',
        'add',
        '--client-id',
        `s${Math.random().toString(36).slice(2, 8)}`,
        '--scope',
        'read',
        '--resource',
        'https://api.example.com/',
        ...extra,
      ).catch((e: unknown) => e as AdminError);
    expect(await add('--issuer', 'https://idp.xaa.dev')).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /not a trusted issuer of this server \(trusted: https:\/\/idp.stack.example; from stack \S+'s configuration\)/,
      ),
    });
    expect(await add('--token-lifetime', '7201')).toMatchObject({
      message: expect.stringMatching(/exceeds the server's cap of 7200 s/),
    });
    expect(Array.isArray(await add('--issuer', 'https://idp.stack.example'))).toBe(true);
  });

  test('a stack that does not exist is a clear admin error', async () => {
    const err = await admin('--stack', 'NoSuchStack', 'clients', 'list').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).message).toMatch(/stack NoSuchStack does not exist in us-east-1/);
  });

  test('a malformed stack name is a usage error before any AWS call', async () => {
    const err = await admin('--stack', 'not a stack', 'clients', 'list').catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--stack must name a CloudFormation stack'),
    });
  });
});
