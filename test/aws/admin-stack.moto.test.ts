/** `npm run admin -- --stack NAME clients ...` against a stack deployed to moto's CloudFormation. */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../lambda/admin/client-admin.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { CLIENT_SECRET_STACK_TAG, STACK_OUTPUTS } from '../../lambda/aws/stack-outputs.js';
import type { StackAdminClients } from '../../lambda/aws/stack-client-admin.js';
import { CLIENTS_TABLE } from '../../lambda/aws/tables.js';
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
    await runAdmin(argv, {}, (l) => lines.push(l), clients);
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
