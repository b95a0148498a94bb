/**
 * DynamoDB writes with a condition. A failed condition is an answer, not a fault: these resolve
 * with it, and every other error propagates. The error is matched by name, not `instanceof`, so a
 * second copy of the SDK in a bundle cannot turn a lost race into a failure.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

/** Resolves true when the write was applied, false when its condition did not hold. */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  return (await conditionalWriteHolder(write)) === undefined;
}

/**
 * Resolves undefined when the write was applied; when its condition did not hold, the item that
 * stopped it, as the write returned it (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`; an empty
 * item when the write did not ask for it).
 */
export async function conditionalWriteHolder(
  write: () => Promise<unknown>,
): Promise<Item | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException')
      return (err as { Item?: Item }).Item ?? {};
    throw err;
  }
}
