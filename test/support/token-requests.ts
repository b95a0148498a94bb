/**
 * Token requests and their refusals as the handler tests (test/lambda/handlers/) write them: the
 * form that redeems an assertion, hand-made JWS segments, and what every refusal must look like.
 */
import type { HttpResult } from '../../lambda/http/types.js';
import { REASONS, type ReasonCode } from '../../lambda/oauth/errors.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import type { Form } from './events.js';
import { bodyOf, refusalOf } from './harness.js';

/** A registered client and its secret, as Harness.addClient returns them. */
export interface TestClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The jwt-bearer form by which `client` (client_secret_post) redeems `assertion`. */
export function redeemForm(client: TestClient, assertion: string, extra: Form = {}): Form {
  return {
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: client.clientId,
    client_secret: client.clientSecret,
    ...extra,
  };
}

/** base64url of a string as it is, or of any other value's JSON: a hand-made JWS segment. */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

/**
 * Refused with `status` for `reason`, with the OAuth error that reason maps to (REASONS), and no
 * token issued. Returns the body, for the tests that read its description.
 */
export function expectRefused(
  res: HttpResult,
  status: number,
  reason: ReasonCode,
): Record<string, unknown> {
  const body = bodyOf(res);
  expect({
    status: res.statusCode,
    error: body.error,
    reason: refusalOf(res)?.reason,
  }).toEqual({ status, error: REASONS[reason], reason });
  expect(body).not.toHaveProperty('access_token');
  return body;
}

/** The claims of the access token a response issued, read without verifying; undefined if none. */
export function issuedClaims(res: HttpResult): Record<string, unknown> | undefined {
  const token = bodyOf(res).access_token;
  if (typeof token !== 'string') return undefined;
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}
