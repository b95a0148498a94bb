/** Tables with the key schema the stack gives them (lib/client-store.ts), for the moto tests. */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A table with one string partition key, on demand: the shape of both of this server's tables. */
export async function createTable(db: DynamoDBClient, name: string, key: string): Promise<void> {
  await db.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
