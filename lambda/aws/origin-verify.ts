/**
 * Edge protection's origin check (lib/edge-protection.ts): CloudFront adds a secret header to every
 * request it forwards, and an HTTP API Lambda authorizer lets through only requests that carry it,
 * so the execute-api endpoint cannot be used to go around the WAF. The comparison is on SHA-256
 * digests with timingSafeEqual: constant time, whatever the presented value's length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
} from 'aws-lambda';
import { ConfigError } from '../config.js';

/** The header CloudFront adds; lowercase, as API Gateway passes header names. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
/** The authorizer function's variable holding the expected value. */
export const ORIGIN_VERIFY_ENV = 'ORIGIN_VERIFY_SECRET';
const MIN_SECRET_LENGTH = 32;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function createOriginVerifier(
  secret: string | undefined,
): (event: APIGatewayRequestAuthorizerEventV2) => Promise<APIGatewaySimpleAuthorizerResult> {
  // Fail closed and loudly: without a real secret nothing would be protected.
  if (!secret || secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError(ORIGIN_VERIFY_ENV, `must be at least ${MIN_SECRET_LENGTH} characters`);
  const expected = digest(secret);
  return async (event) => {
    const presented = event.headers?.[ORIGIN_VERIFY_HEADER];
    return {
      isAuthorized: presented !== undefined && timingSafeEqual(digest(presented), expected),
    };
  };
}
