/**
 * The admin's `--stack` lookup when CloudFormation refuses it. The operator policy allows
 * DescribeStacks on its own stack only, so on AWS a mistyped name is AccessDenied, not "does not
 * exist" (moto, which ignores resources, cannot say so: the refusal is injected here).
 */
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AdminError } from '../../local/admin/client-admin.js';
import { openStackClientAdmin } from '../../local/admin/stack-client-admin.js';

const cfn = new CloudFormationClient({ region: 'eu-west-1' });
const clients = {
  cloudFormation: cfn,
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
};
const mock = mockClient(cfn);
afterAll(() => mock.restore());

const refusal = (name: string, message: string) =>
  new CloudFormationServiceException({
    name,
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
  });

test('AccessDenied on DescribeStacks: says the stack may not exist or the policy is missing', async () => {
  mock
    .on(DescribeStacksCommand)
    .rejects(refusal('AccessDenied', 'User: arn:aws:sts::1:assumed-role/ops is not authorized'));
  const err = await openStackClientAdmin('XaaAuthServer-prdo', clients).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdminError);
  expect((err as Error).message).toMatch(
    /^no access to stack XaaAuthServer-prdo in eu-west-1: it does not exist there, or your credentials lack its OperatorPolicyArn policy/,
  );
});

test('another failure is not dressed up as one', async () => {
  mock.on(DescribeStacksCommand).rejects(refusal('Throttling', 'Rate exceeded'));
  const err = await openStackClientAdmin('XaaAuthServer-prod', clients).catch((e: unknown) => e);
  expect(err).not.toBeInstanceOf(AdminError);
  expect((err as Error).name).toBe('Throttling');
});
