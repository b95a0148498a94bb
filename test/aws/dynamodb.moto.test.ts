/** The DynamoDB client registry and replay guard against moto's DynamoDB, tables as the stack makes them. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbClientRegistry } from '../../lambda/aws/dynamodb-client-registry.js';
import { DynamoDbReplayGuard } from '../../lambda/aws/dynamodb-replay-guard.js';
import { replayKey } from '../../lambda/replay-key.js';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../../lambda/cdk-shared/tables.js';
import type { ClientRecord } from '../../lambda/ports.js';
import {
  createTable,
  describeWithMoto,
  startMoto,
  uniqueName,
  type Moto,
} from '../support/moto.js';

describeWithMoto('DynamoDB adapters on moto', () => {
  let moto: Moto;
  let db: DynamoDBClient;
  let clientsTable: string;
  let replayTable: string;
  let now = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    moto = await startMoto();
    db = new DynamoDBClient(moto.clientConfig);
    clientsTable = uniqueName('clients');
    replayTable = uniqueName('replay');
    await Promise.all([
      createTable(db, clientsTable, CLIENTS_TABLE.partitionKey),
      createTable(db, replayTable, REPLAY_TABLE.partitionKey),
    ]);
  });
  afterAll(async () => {
    db?.destroy();
    await moto?.stop();
  });

  const guard = () => new DynamoDbReplayGuard(db, replayTable, () => now);

  test('of concurrent claims of one (iss, jti), exactly one wins', async () => {
    const jti = uniqueName('jti');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => guard().claim('https://idp.example', jti, now + 360)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(false);
  });

  test('JAG-REPLAY: a replay is told by the failed write alone, one call and no read', async () => {
    const counted = new DynamoDBClient(moto.clientConfig);
    const calls: string[] = [];
    counted.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    try {
      const jti = uniqueName('jti');
      expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(true);
      const replayer = new DynamoDbReplayGuard(counted, replayTable, () => now);
      expect(await replayer.claim('https://idp.example', jti, now + 360)).toBe(false);
      expect(calls).toEqual(['PutItemCommand']);
    } finally {
      counted.destroy();
    }
  });

  test('the record carries the assertion expiry in the TTL attribute, and issuers keep their jtis apart', async () => {
    const jti = uniqueName('jti');
    expect(await guard().claim('https://a.example', jti, now + 360)).toBe(true);
    expect(await guard().claim('https://b.example', jti, now + 360)).toBe(true);
    const { Item } = await db.send(
      new GetItemCommand({
        TableName: replayTable,
        Key: { [REPLAY_TABLE.partitionKey]: { S: replayKey('https://a.example', jti) } },
      }),
    );
    expect(Item?.[REPLAY_TABLE.ttlAttribute]).toEqual({ N: String(now + 360) });
  });

  test('a released claim can be made again; a record past its expiry no longer counts', async () => {
    const jti = uniqueName('jti');
    const claimer = guard();
    expect(await claimer.claim('https://idp.example', jti, now + 360)).toBe(true);
    await claimer.release('https://idp.example', jti);
    expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(true);
    // TTL deletes lazily: the guard must not treat an expired, not yet deleted record as a use.
    const saved = now;
    now += 361;
    try {
      expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(true);
    } finally {
      now = saved;
    }
  });

  test("JAG-REPLAY: a claim whose answer was lost and that the SDK retried is still this request's win", async () => {
    // The first PutItem reaches DynamoDB, then its answer is lost: the SDK's own retry meets the
    // item that attempt created.
    const lossy = new DynamoDBClient({ ...moto.clientConfig, maxAttempts: 3 });
    let lost = 0;
    lossy.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'PutItemCommand' && lost++ === 0) {
          throw Object.assign(new Error('socket hang up after the write'), {
            name: 'TimeoutError',
          });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseFirstPutAnswer' },
    );
    try {
      const jti = uniqueName('jti');
      const retried = new DynamoDbReplayGuard(lossy, replayTable, () => now);
      expect(await retried.claim('https://idp.example', jti, now + 360)).toBe(true);
      expect(lost).toBe(2); // the first answer was lost, the retry answered
      expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(false);
    } finally {
      lossy.destroy();
    }
  });

  test("JAG-REPLAY: a release the SDK retries late never removes another request's claim", async () => {
    // The first DeleteItem gives the jti back, but its answer is lost; before the SDK retries it,
    // the client's retry redeems the assertion. The retried delete must not remove that claim.
    const lossy = new DynamoDBClient({ ...moto.clientConfig, maxAttempts: 3 });
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let deletes = 0;
    lossy.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'DeleteItemCommand' && deletes++ === 0) {
          await gate;
          throw Object.assign(new Error('socket hang up after the delete'), {
            name: 'TimeoutError',
          });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseFirstDeleteAnswer' },
    );
    try {
      const jti = uniqueName('jti');
      const first = new DynamoDbReplayGuard(lossy, replayTable, () => now);
      expect(await first.claim('https://idp.example', jti, now + 360)).toBe(true);
      const releasing = first.release('https://idp.example', jti);
      const second = guard();
      while (!(await second.claim('https://idp.example', jti, now + 360))) {
        await new Promise((resolve) => setTimeout(resolve, 10)); // until the first delete landed
      }
      openGate();
      await releasing;
      expect(deletes).toBe(2); // the SDK did retry the delete
      expect(await guard().claim('https://idp.example', jti, now + 360)).toBe(false);
    } finally {
      openGate();
      lossy.destroy();
    }
  });

  test('the registry round-trips a client record', async () => {
    const registry = new DynamoDbClientRegistry(db, clientsTable);
    const client: ClientRecord = {
      clientId: uniqueName('client'),
      secretRef: 'xaa-auth-server/S/clients/x/abc',
      scopes: ['read', 'write'],
      resources: ['https://api.example.com/'],
      tokenLifetime: 600,
      issuers: ['https://idp.example'],
      enabled: true,
    };
    expect(await registry.add(client)).toBe(true);
    expect(await registry.add({ ...client, scopes: ['admin'] })).toBe(false);
    expect(await registry.get(client.clientId)).toEqual(client);
    expect(await registry.get('nobody')).toBeUndefined();
    expect((await registry.list()).map((c) => c.clientId)).toContain(client.clientId);
    expect(await registry.remove(client.clientId)).toEqual(client);
    expect(await registry.get(client.clientId)).toBeUndefined();
  });

  test('a missing table is a clean error the caller can see', async () => {
    await expect(new DynamoDbClientRegistry(db, 'no-such-table').get('c')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      new DynamoDbReplayGuard(db, 'no-such-table').claim('i', 'j', now + 60),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describeWithMoto(
  'DynamoDB client registry on moto: clients with keys (AUTH-PRIVATE-KEY-JWT)',
  () => {
    let moto: Moto;
    let db: DynamoDBClient;
    let clientsTable: string;

    beforeAll(async () => {
      moto = await startMoto();
      db = new DynamoDBClient(moto.clientConfig);
      clientsTable = uniqueName('clients');
      await createTable(db, clientsTable, CLIENTS_TABLE.partitionKey);
    });
    afterAll(async () => {
      db?.destroy();
      await moto?.stop();
    });

    const keyClient = (keys: Pick<ClientRecord, 'jwks' | 'jwksUri'>): ClientRecord => ({
      clientId: uniqueName('agent'),
      secretRef: '',
      authMethod: 'private_key_jwt',
      ...keys,
      scopes: ['read'],
      resources: ['https://api.example.com/'],
      issuers: ['https://idp.example'],
      dpopBoundRequired: true,
      enabled: true,
    });

    test.each<[string, Pick<ClientRecord, 'jwks' | 'jwksUri'>]>([
      [
        'inline jwks',
        {
          jwks: {
            keys: [
              {
                kty: 'EC',
                crv: 'P-256',
                x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
                y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
                kid: 'k1',
                alg: 'ES256',
                use: 'sig',
              },
              {
                kty: 'OKP',
                crv: 'Ed25519',
                x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
                kid: 'k2',
                alg: 'EdDSA',
              },
            ],
          },
        },
      ],
      ['a jwks_uri', { jwksUri: 'https://agent.example.com/.well-known/jwks.json' }],
    ])('a key client with %s round-trips: get, list and remove', async (_how, keys) => {
      const registry = new DynamoDbClientRegistry(db, clientsTable);
      const client = keyClient(keys);
      expect(await registry.add(client)).toBe(true);
      expect(await registry.get(client.clientId)).toEqual(client);
      expect((await registry.list()).find((c) => c.clientId === client.clientId)).toEqual(client);
      expect(await registry.remove(client.clientId)).toEqual(client);
      expect(await registry.get(client.clientId)).toBeUndefined();
    });

    test('a JWKS is one attribute, the JSON it is; the method and the URI are strings', async () => {
      const registry = new DynamoDbClientRegistry(db, clientsTable);
      const inline = keyClient({ jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } });
      const published = keyClient({ jwksUri: 'https://agent.example.com/jwks.json' });
      await registry.add(inline);
      await registry.add(published);
      const item = async (id: string) =>
        (
          await db.send(
            new GetItemCommand({
              TableName: clientsTable,
              Key: { [CLIENTS_TABLE.partitionKey]: { S: id } },
            }),
          )
        ).Item;
      const a = await item(inline.clientId);
      expect(a?.auth_method).toEqual({ S: 'private_key_jwt' });
      expect(JSON.parse(a?.jwks?.S ?? 'null')).toEqual(inline.jwks);
      expect(a).not.toHaveProperty('jwks_uri');
      const b = await item(published.clientId);
      expect(b?.jwks_uri).toEqual({ S: 'https://agent.example.com/jwks.json' });
      expect(b).not.toHaveProperty('jwks');
    });

    test('a secret client stays one: no auth_method, no keys', async () => {
      const registry = new DynamoDbClientRegistry(db, clientsTable);
      const client: ClientRecord = {
        clientId: uniqueName('client'),
        secretRef: 'xaa-auth-server/S/clients/x/abc',
        scopes: ['read'],
        resources: ['https://api.example.com/'],
        enabled: true,
      };
      await registry.add(client);
      const read = await registry.get(client.clientId);
      expect(read).toEqual(client);
      expect(read).not.toHaveProperty('authMethod');
    });
  },
);
