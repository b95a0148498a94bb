/**
 * The admin CLI against a deployed stack: the table and secret prefix come from the stack's
 * outputs, so the operator names the stack and nothing else.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AdminError, ClientAdmin, type ServerPolicy } from './client-admin.js';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { SecretsManagerSecretWriter } from './secrets-manager-secret-writer.js';
import { CLIENT_SECRET_STACK_TAG, STACK_OUTPUTS } from '../../lambda/cdk-shared/stack-outputs.js';

export interface StackAdminClients {
  readonly cloudFormation: CloudFormationClient;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
}

/** Clients for the region and credentials of the environment (AWS_PROFILE, AWS_REGION, ...). */
export function defaultStackAdminClients(): StackAdminClients {
  return {
    cloudFormation: new CloudFormationClient({}),
    dynamodb: new DynamoDBClient({}),
    secretsManager: new SecretsManagerClient({}),
  };
}

export interface StackClientStore {
  readonly issuer: string;
  readonly clientsTable: string;
  readonly secretPrefix: string;
  /** The ServiceEnvironment output, parsed; undefined for a stack deployed before it existed. */
  readonly serviceEnvironment?: unknown;
}

async function readStackClientStore(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<StackClientStore> {
  let outputs;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks?.[0]?.Outputs ?? [];
  } catch (err) {
    // CloudFormation answers a missing stack with a ValidationError naming it.
    if (
      (err as Error).name === 'ValidationError' &&
      /does not exist/.test((err as Error).message)
    ) {
      const region = await cfn.config.region();
      throw new AdminError(
        `stack ${stackName} does not exist in ${region} (set AWS_REGION or AWS_PROFILE to the stack's)`,
      );
    }
    // The operator policy allows DescribeStacks on its own stack only: AWS answers any other
    // name, existing or not, with AccessDenied rather than "does not exist".
    if (/^AccessDenied/.test((err as Error).name)) {
      const region = await cfn.config.region();
      throw new AdminError(
        `no access to stack ${stackName} in ${region}: it does not exist there, or your credentials ` +
          'lack its OperatorPolicyArn policy (check the name, AWS_REGION and AWS_PROFILE)',
      );
    }
    throw err;
  }
  const output = (key: string): string => {
    const value = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value)
      throw new AdminError(
        `stack ${stackName} has no output ${key}: is it an xaa-auth-server stack, fully deployed?`,
      );
    return value;
  };
  const serviceEnvironment = outputs.find(
    (o) => o.OutputKey === STACK_OUTPUTS.serviceEnvironment,
  )?.OutputValue;
  let parsed: unknown;
  try {
    parsed = serviceEnvironment === undefined ? undefined : JSON.parse(serviceEnvironment);
  } catch {
    parsed = undefined;
  }
  return {
    issuer: output(STACK_OUTPUTS.issuer),
    clientsTable: output(STACK_OUTPUTS.clientsTable),
    secretPrefix: output(STACK_OUTPUTS.secretPrefix),
    ...(parsed !== undefined && { serviceEnvironment: parsed }),
  };
}

/**
 * The stack's outputs (its issuer and service variables: what `assertion check` and `clients add`
 * judge by), and its client admin under the policy the caller derives from them.
 */
export async function openStackClientAdmin(
  stackName: string,
  clients: StackAdminClients,
  policyFor: (store: StackClientStore) => Promise<ServerPolicy | undefined> = async () => undefined,
): Promise<{ admin: ClientAdmin; issuer: string; store: StackClientStore }> {
  const store = await readStackClientStore(clients.cloudFormation, stackName);
  const admin = new ClientAdmin(
    new DynamoDbClientRegistry(clients.dynamodb, store.clientsTable),
    new SecretsManagerSecretWriter(clients.secretsManager, undefined, {
      [CLIENT_SECRET_STACK_TAG]: stackName,
    }),
    store.secretPrefix,
    () => policyFor(store),
  );
  return { admin, issuer: store.issuer, store };
}

export function destroyStackAdminClients(clients: StackAdminClients): void {
  clients.cloudFormation.destroy();
  clients.dynamodb.destroy();
  clients.secretsManager.destroy();
}
