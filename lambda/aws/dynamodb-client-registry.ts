/** The client registry in DynamoDB: one item per client, keyed by client_id. */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { ClientRecord, ClientRegistry } from '../ports.js';
import { CLIENTS_TABLE } from '../cdk-shared/tables.js';
import { conditionalWrite } from './conditional-write.js';

type Item = Record<string, AttributeValue>;

export class DynamoDbClientRegistry implements ClientRegistry {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(clientId: string): Promise<ClientRecord | undefined> {
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [CLIENTS_TABLE.partitionKey]: { S: clientId } },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  /** Registers a client; refuses to overwrite one that exists. Resolves false if it did. */
  async add(client: ClientRecord): Promise<boolean> {
    return this.put(client, 'attribute_not_exists(#pk)');
  }

  /** Replaces a registered client's record; resolves false if it is not registered. */
  async update(client: ClientRecord): Promise<boolean> {
    return this.put(client, 'attribute_exists(#pk)');
  }

  /** Writes the whole record if `condition` (on the partition key, #pk) holds. */
  private put(client: ClientRecord, condition: string): Promise<boolean> {
    return conditionalWrite(() =>
      this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(client),
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#pk': CLIENTS_TABLE.partitionKey },
        }),
      ),
    );
  }

  /** Enables or disables a client; resolves false if it is not registered. */
  async setEnabled(clientId: string, enabled: boolean): Promise<boolean> {
    return conditionalWrite(() =>
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CLIENTS_TABLE.partitionKey]: { S: clientId } },
          UpdateExpression: 'SET enabled = :enabled',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CLIENTS_TABLE.partitionKey },
          ExpressionAttributeValues: { ':enabled': { BOOL: enabled } },
        }),
      ),
    );
  }

  async list(): Promise<ClientRecord[]> {
    const clients: ClientRecord[] = [];
    let ExclusiveStartKey: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey, ConsistentRead: true }),
      );
      clients.push(...(page.Items ?? []).map(fromItem));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return clients.sort((a, b) => a.clientId.localeCompare(b.clientId));
  }

  /** Removes a client; resolves to the removed record, or undefined if there was none. */
  async remove(clientId: string): Promise<ClientRecord | undefined> {
    const { Attributes } = await this.db.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [CLIENTS_TABLE.partitionKey]: { S: clientId } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? fromItem(Attributes) : undefined;
  }
}

function toItem(c: ClientRecord): Item {
  const list = (values: readonly string[]): AttributeValue => ({ L: values.map((S) => ({ S })) });
  return {
    [CLIENTS_TABLE.partitionKey]: { S: c.clientId },
    secret_ref: { S: c.secretRef },
    scopes: list(c.scopes),
    resources: list(c.resources),
    enabled: { BOOL: c.enabled },
    ...(c.tokenLifetime !== undefined && { token_lifetime: { N: String(c.tokenLifetime) } }),
    ...(c.issuers !== undefined && { issuers: list(c.issuers) }),
    ...(c.dpopBoundRequired !== undefined && {
      dpop_bound_required: { BOOL: c.dpopBoundRequired },
    }),
    ...(c.authMethod !== undefined && { auth_method: { S: c.authMethod } }),
    // A JWKS is kept as the JSON it is: one attribute, read back whole.
    ...(c.jwks !== undefined && { jwks: { S: JSON.stringify(c.jwks) } }),
    ...(c.jwksUri !== undefined && { jwks_uri: { S: c.jwksUri } }),
  };
}

function fromItem(item: Item): ClientRecord {
  const list = (v: AttributeValue | undefined): string[] =>
    (v?.L ?? []).map((x) => x.S ?? '').filter(Boolean);
  return {
    clientId: item[CLIENTS_TABLE.partitionKey]?.S ?? '',
    secretRef: item.secret_ref?.S ?? '',
    scopes: list(item.scopes),
    resources: list(item.resources),
    // A record without the flag predates it: enabled.
    enabled: item.enabled?.BOOL ?? true,
    ...(item.token_lifetime?.N !== undefined && { tokenLifetime: Number(item.token_lifetime.N) }),
    ...(item.issuers !== undefined && { issuers: list(item.issuers) }),
    ...(item.dpop_bound_required?.BOOL !== undefined && {
      dpopBoundRequired: item.dpop_bound_required.BOOL,
    }),
    ...(item.auth_method?.S !== undefined && {
      authMethod: item.auth_method.S as ClientRecord['authMethod'],
    }),
    ...(item.jwks?.S !== undefined && { jwks: parseJwks(item.jwks.S) }),
    ...(item.jwks_uri?.S !== undefined && { jwksUri: item.jwks_uri.S }),
  };
}

/** A stored JWKS; one that does not parse reads as none (the client then cannot authenticate). */
function parseJwks(text: string): ClientRecord['jwks'] {
  try {
    return JSON.parse(text) as ClientRecord['jwks'];
  } catch {
    return undefined;
  }
}
