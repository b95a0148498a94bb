/**
 * The components driven as a deployment runs them, for the IAM tests: the token function built from
 * the environment the template gives it, the JWKS publisher answering the event CloudFormation
 * sends it, and the admin's `--stack` commands. Each takes the credentials and endpoint of the
 * principal it runs as, so its calls can be recorded (aws-call-recorder.ts) or refused by moto's
 * IAM.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { runAdmin } from '../../../bin/admin.js';
import {
  loadTokenFunctionConfig,
  type TokenFunctionConfig,
} from '../../../lambda/cdk-shared/aws-config.js';
import {
  createJwksPublisher,
  type JwksPublisherProperties,
} from '../../../lambda/aws/jwks-publisher.js';
import type { StackAdminClients } from '../../../local/admin/stack-client-admin.js';
import { CLIENTS_TABLE } from '../../../lambda/cdk-shared/tables.js';
import {
  createAwsTokenService,
  type TokenFunctionClients,
} from '../../../lambda/aws/token-service-factory.js';
import { createTokenHandler } from '../../../lambda/handlers/token.js';
import type { HttpHandler } from '../../../lambda/http/types.js';
import type { Refusal } from '../../../lambda/oauth/errors.js';
import { tokenEvent } from '../events.js';
import { MemoryLog } from '../harness.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** SDK settings for a principal: one attempt, so a refusal is seen as it is. */
export function sdkConfig(endpoint: string, region: string, credentials: Credentials) {
  return { endpoint, region, credentials, maxAttempts: 1 };
}

export function tokenFunctionClients(
  endpoint: string,
  region: string,
  credentials: Credentials,
): TokenFunctionClients {
  const config = sdkConfig(endpoint, region, credentials);
  return {
    kms: new KMSClient(config),
    dynamodb: new DynamoDBClient(config),
    secretsManager: new SecretsManagerClient(config),
  };
}

export function destroyClients(clients: object): void {
  for (const c of Object.values(clients)) (c as { destroy(): void }).destroy();
}

/** One token function container: the TokenService on `clients`, with the template's variables. */
export function tokenFunction(
  variables: Record<string, string>,
  clients: TokenFunctionClients,
  adjust: (c: TokenFunctionConfig) => TokenFunctionConfig = (c) => c,
): { handler: HttpHandler; outcomes: Array<Refusal | undefined>; log: MemoryLog } {
  const log = new MemoryLog();
  const outcomes: Array<Refusal | undefined> = [];
  const { service } = createAwsTokenService(adjust(loadTokenFunctionConfig(variables)), clients, {
    logger: log,
    issuerKeys: { timeoutMs: 2000 },
    // Every request reads the client record: the calls a cold container makes, each time.
    clientCacheTtlMs: 0,
  });
  const handler = createTokenHandler({
    service,
    corsOrigins: [],
    logger: log,
    onOutcome: (e) => outcomes.push(e),
  });
  return { handler, outcomes, log };
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export function tokenRequest(
  client: { clientId: string; clientSecret: string },
  assertion: string,
  headers: Record<string, string> = {},
) {
  return tokenEvent(
    {
      grant_type: JWT_BEARER,
      assertion,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    },
    headers,
  );
}

/** The JWKS publisher as its Lambda entry builds it, on `endpoint` with `credentials`. */
export function jwksPublisher(endpoint: string, region: string, credentials: Credentials) {
  const kms = new KMSClient(sdkConfig(endpoint, region, credentials));
  return { publish: createJwksPublisher(kms), kms };
}

/** The events CloudFormation sends the publisher for the template's Custom::PublishedJwks. */
export function publisherEvents(properties: JwksPublisherProperties) {
  const common = {
    ServiceToken: properties.ServiceToken,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/never-called',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/T/1',
    RequestId: 'request-1',
    LogicalResourceId: 'PublishedJwks',
    ResourceType: 'Custom::PublishedJwks',
  };
  type Event = CdkCustomResourceEvent<JwksPublisherProperties>;
  return {
    create: (): Event => ({ ...common, RequestType: 'Create', ResourceProperties: properties }),
    update: (keyIds: readonly string[], physicalId: string): Event => ({
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: physicalId,
      ResourceProperties: { ...properties, KeyIds: keyIds },
      OldResourceProperties: properties,
    }),
  };
}

/** `npm run admin -- --stack NAME ...` as `credentials`; resolves to its output lines. */
export async function admin(
  endpoint: string,
  region: string,
  credentials: Credentials,
  stackName: string,
  ...argv: string[]
): Promise<string[]> {
  const lines: string[] = [];
  const config = sdkConfig(endpoint, region, credentials);
  const clients = (): StackAdminClients => ({
    cloudFormation: new CloudFormationClient(config),
    dynamodb: new DynamoDBClient(config),
    secretsManager: new SecretsManagerClient(config),
  });
  await runAdmin(['--stack', stackName, ...argv], {}, (l) => lines.push(l), {
    awsClients: clients,
  });
  return lines;
}

/** `clients add` on the stack: the new client's id and secret. */
export async function addClient(
  run: (...argv: string[]) => Promise<string[]>,
  clientId: string,
  ...extra: string[]
): Promise<{ clientId: string; clientSecret: string }> {
  const [line] = await run(
    'clients',
    'add',
    '--client-id',
    clientId,
    '--scope',
    'read write',
    '--resource',
    'https://api.example.com/',
    '--json',
    ...extra,
  );
  const { client_id, client_secret } = JSON.parse(line!) as {
    client_id: string;
    client_secret: string;
  };
  return { clientId: client_id, clientSecret: client_secret };
}

/**
 * The stack as the admin finds it on moto: the synthesized stack's outputs, resolved
 * (TemplatePolicies.outputs), and the clients table it owns, created by the stack.
 */
export async function createAdminStack(
  cfn: CloudFormationClient,
  stackName: string,
  clientsTable: string,
  outputs: Record<string, string>,
): Promise<void> {
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: {
          Clients: {
            Type: 'AWS::DynamoDB::Table',
            Properties: {
              TableName: clientsTable,
              BillingMode: 'PAY_PER_REQUEST',
              AttributeDefinitions: [
                { AttributeName: CLIENTS_TABLE.partitionKey, AttributeType: 'S' },
              ],
              KeySchema: [{ AttributeName: CLIENTS_TABLE.partitionKey, KeyType: 'HASH' }],
            },
          },
        },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
      }),
    }),
  );
}
