/**
 * A DynamoDB write with a condition: resolves true when it was applied, false when its condition
 * did not hold. Every other error propagates. The error is matched by name, not `instanceof`, so a
 * second copy of the SDK in a bundle cannot turn a lost race into a failure.
 */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}
