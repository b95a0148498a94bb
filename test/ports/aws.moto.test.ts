/**
 * The port conformance suites against the AWS adapters on moto: DynamoDB for the registry and the
 * replay guard (tables as the stack makes them), Secrets Manager for the secrets. A storage fault
 * is injected by failing the client's next call, as a throttle or a dropped connection would.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { DynamoDbReplayGuard } from '../../lambda/aws/dynamodb-replay-guard.js';
import { SecretsManagerSecretStore } from '../../lambda/aws/secrets-manager-secret-store.js';
import { SecretsManagerSecretWriter } from '../../local/admin/secrets-manager-secret-writer.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import {
  createTable,
  describeWithMoto,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';
import {
  clientRegistryConformance,
  replayGuardConformance,
  secretStoreConformance,
  type Family,
  type SecretPort,
} from './conformance.js';

/** An SDK client whose next write call fails before it leaves the process. */
function faulty<C extends { send: (...a: never[]) => Promise<unknown> }>(
  client: C,
  writes: RegExp,
) {
  let fail = false;
  const send = client.send.bind(client) as (...a: unknown[]) => Promise<unknown>;
  (client as { send: unknown }).send = (
    command: { constructor: { name: string } },
    ...rest: unknown[]
  ) => {
    if (fail && writes.test(command.constructor.name)) {
      fail = false;
      return Promise.reject(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      );
    }
    return send(command, ...rest);
  };
  return { client, failNext: () => void (fail = true) };
}

const DYNAMO_WRITES = /^(PutItem|DeleteItem|UpdateItem)Command$/;

describeWithMoto('port conformance on moto', () => {
  let stop: () => Promise<void> = async () => undefined;
  let config: Moto['clientConfig'];
  beforeAll(async () => {
    const moto = await startMoto();
    stop = moto.stop;
    config = moto.clientConfig;
  });
  afterAll(() => stop());

  replayGuardConformance('DynamoDbReplayGuard', async (clock) => {
    const { client: db, failNext } = faulty(new DynamoDBClient(config), DYNAMO_WRITES);
    const table = uniqueName('replay');
    await createTable(db, table, REPLAY_TABLE.partitionKey);
    return {
      port: new DynamoDbReplayGuard(db, table, clock.now),
      failNextWrite: failNext,
      close: async () => db.destroy(),
    };
  });

  clientRegistryConformance('DynamoDbClientRegistry', async () => {
    const { client: db, failNext } = faulty(new DynamoDBClient(config), DYNAMO_WRITES);
    const table = uniqueName('clients');
    await createTable(db, table, CLIENTS_TABLE.partitionKey);
    return {
      port: new DynamoDbClientRegistry(db, table),
      failNextWrite: failNext,
      close: async () => db.destroy(),
    };
  });

  secretStoreConformance('Secrets Manager', async (clock) => {
    const { client: sm, failNext } = faulty(
      new SecretsManagerClient(config),
      /^(CreateSecret|DeleteSecret)Command$/,
    );
    const reader = new SecretsManagerSecretStore(sm, {
      maxAgeSeconds: 60,
      refreshIntervalMs: 0,
      now: () => clock.now() * 1000,
    });
    const writer = new SecretsManagerSecretWriter(sm);
    const port: SecretPort = {
      getClientSecret: (ref, options) => reader.getClientSecret(ref, options),
      putSecret: (ref, secret) => writer.putSecret(ref, secret),
      rotateSecret: (ref, secret, until) => writer.rotateSecret(ref, secret, until),
      deleteSecret: (ref) => writer.deleteSecret(ref),
    };
    return {
      port,
      failNextWrite: failNext,
      close: async () => sm.destroy(),
    } satisfies Family<SecretPort>;
  });
});
