/**
 * Single use of an assertion's jti (JAG-REPLAY) as one conditional write: of any number of
 * concurrent claims, DynamoDB lets exactly one create the item. Records expire by TTL.
 */
import { createHash } from 'node:crypto';
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReplayGuard } from '../ports.js';
import { REPLAY_TABLE } from './tables.js';
import { conditionalWrite } from './conditional-write.js';

export class DynamoDbReplayGuard implements ReplayGuard {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  async claim(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [REPLAY_TABLE.partitionKey]: { S: recordId(issuer, jti) },
            [REPLAY_TABLE.ttlAttribute]: { N: String(Math.ceil(expiresAt)) },
          },
          // TTL deletes lazily: a record past its expiry no longer counts.
          ConditionExpression: 'attribute_not_exists(#id) OR #exp < :now',
          ExpressionAttributeNames: {
            '#id': REPLAY_TABLE.partitionKey,
            '#exp': REPLAY_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: { ':now': { N: String(this.now()) } },
        }),
      ),
    );
  }

  async release(issuer: string, jti: string): Promise<void> {
    await this.db.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [REPLAY_TABLE.partitionKey]: { S: recordId(issuer, jti) } },
      }),
    );
  }
}

/**
 * A fixed-size key for any issuer and jti (a jti is chosen by the IdP, and may be long or full of
 * characters that grow when escaped): the SHA-256 of the unambiguous pair.
 */
export function recordId(issuer: string, jti: string): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, jti]))
    .digest('base64url');
}
