/**
 * Single use of an assertion's jti (JAG-REPLAY) as one conditional write: of any number of
 * concurrent claims, DynamoDB lets exactly one create the item. Records expire by TTL.
 *
 * Every claim writes an owner of its own, because the AWS SDK retries a write whose answer was
 * lost: the retry then meets the item the first attempt created. The failed write returns the item
 * that stopped it (ReturnValuesOnConditionCheckFailure), and its owner tells "my own earlier
 * attempt" (a win) from "another request" (a replay): no read after the write, so a replay costs
 * one round trip and the token role needs no read access to this table. A release deletes the
 * item only while it is still this claim's, so a delete that is retried or arrives late can never
 * remove the claim of a request that redeemed the assertion after it was given back.
 */
import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReplayGuard } from '../ports.js';
import { replayKey } from '../replay-key.js';
import { REPLAY_TABLE } from '../cdk-shared/tables.js';
import { conditionalWrite, conditionalWriteHolder } from './conditional-write.js';

const OWNER = 'owner';
/** A release comes within one request's budget; owners are kept a good while longer than that. */
const OWNER_MEMORY_MS = 60_000;

export class DynamoDbReplayGuard implements ReplayGuard {
  /** The owner each of this container's recent winning claims wrote, oldest first. */
  private readonly owners = new Map<string, { owner: string; at: number }>();

  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  async claim(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    const id = replayKey(issuer, jti);
    const owner = randomUUID();
    const holder = await conditionalWriteHolder(() =>
      this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [REPLAY_TABLE.partitionKey]: { S: id },
            [REPLAY_TABLE.ttlAttribute]: { N: String(Math.ceil(expiresAt)) },
            [OWNER]: { S: owner },
          },
          // TTL deletes lazily: a record past its expiry no longer counts.
          ConditionExpression: 'attribute_not_exists(#id) OR #exp < :now',
          ExpressionAttributeNames: {
            '#id': REPLAY_TABLE.partitionKey,
            '#exp': REPLAY_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: { ':now': { N: String(this.now()) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    const won = holder === undefined || holder[OWNER]?.S === owner;
    if (won) this.remember(id, owner);
    return won;
  }

  async release(issuer: string, jti: string): Promise<void> {
    const id = replayKey(issuer, jti);
    const mine = this.owners.get(id);
    // Not a claim this container holds: leaving the record is the safe side (the jti stays spent).
    if (!mine) return;
    this.owners.delete(id);
    await conditionalWrite(() =>
      this.db.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [REPLAY_TABLE.partitionKey]: { S: id } },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': OWNER },
          ExpressionAttributeValues: { ':owner': { S: mine.owner } },
        }),
      ),
    );
  }

  private remember(id: string, owner: string): void {
    const at = Date.now();
    for (const [key, entry] of this.owners) {
      if (at - entry.at < OWNER_MEMORY_MS) break;
      this.owners.delete(key);
    }
    this.owners.set(id, { owner, at });
  }
}
