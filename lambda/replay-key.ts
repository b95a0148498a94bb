/**
 * The key a spent `(iss, jti)` is remembered under (JAG-REPLAY), by every ReplayGuard that stores
 * one: the DynamoDB table's partition key (lambda/aws/dynamodb-replay-guard.ts) and the local
 * store's replay journal (local/local-store.ts). Stored records are read back with it, so
 * its format is fixed: changing it would forget every jti spent before the change.
 *
 * A fixed-size key for any issuer and jti (a jti is chosen by the IdP, and may be long or full of
 * characters that grow when escaped): the SHA-256, in base64url, of the unambiguous pair.
 */
import { createHash } from 'node:crypto';

export function replayKey(issuer: string, jti: string): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, jti]))
    .digest('base64url');
}
