/** The reason codes: one closed set, each code answered with exactly one OAuth error (RESP-ERRORS). */
import {
  InvalidClient,
  InvalidDpopProof,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  REASON_CODES,
  REASONS,
  ServerError,
  TemporarilyUnavailable,
  UnsupportedGrantType,
  UseDpopNonce,
  type OAuthError,
  type OAuthErrorCode,
  type ReasonCode,
} from '../../../lambda/oauth/errors.js';
import { oauthError } from '../../../lambda/http/responses.js';

/** One class per OAuth error, built for any of its reasons. */
const BUILD: Record<OAuthErrorCode, (reason: never) => OAuthError> = {
  invalid_request: (reason) => new InvalidRequest({ reason, description: 'd' }),
  invalid_client: (reason) => new InvalidClient({ reason, description: 'd' }),
  invalid_grant: (reason) => new InvalidGrant({ reason, description: 'd' }),
  unsupported_grant_type: (reason) => new UnsupportedGrantType({ reason, description: 'd' }),
  invalid_scope: (reason) => new InvalidScope({ reason, description: 'd' }),
  invalid_target: (reason) => new InvalidTarget({ reason, description: 'd' }),
  temporarily_unavailable: (reason) => new TemporarilyUnavailable({ reason, description: 'd' }),
  server_error: (reason) => new ServerError({ reason, description: 'd' }),
  invalid_dpop_proof: (reason) => new InvalidDpopProof({ reason, description: 'd' }),
  use_dpop_nonce: (reason) => new UseDpopNonce({ reason, description: 'd', nonce: 'n' }),
};

test('every reason code is snake_case and unique', () => {
  for (const code of REASON_CODES) expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
  expect(new Set(REASON_CODES).size).toBe(REASON_CODES.length);
});

test.each(REASON_CODES)('%s is answered with its one OAuth error', (reason: ReasonCode) => {
  const err = BUILD[REASONS[reason]](reason as never);
  expect({ error: err.error, reason: err.reason }).toEqual({ error: REASONS[reason], reason });
  // The reason is for logs, metrics and tests: the response is RFC 6749 §5.2's, unchanged.
  expect(JSON.parse(oauthError(err).body ?? '')).toEqual({
    error: REASONS[reason],
    error_description: 'd',
  });
});

test('a class accepts only the reasons of its own error', () => {
  // @ts-expect-error client_unknown is an invalid_client reason, not an invalid_grant one
  expect(new InvalidGrant({ reason: 'client_unknown', description: 'd' }).error).toBe(
    'invalid_grant',
  );
  // @ts-expect-error a reason outside the closed set
  expect(new InvalidRequest({ reason: 'made_up', description: 'd' }).reason).toBe('made_up');
});

test('invalid_client carries a Basic challenge only when the client tried Basic', () => {
  const basic = new InvalidClient({
    reason: 'secret_mismatch',
    description: 'd',
    usedBasic: true,
  });
  const post = new InvalidClient({ reason: 'secret_mismatch', description: 'd' });
  expect(oauthError(basic).headers['www-authenticate']).toMatch(/^Basic /);
  expect(oauthError(post).headers['www-authenticate']).toBeUndefined();
  expect(oauthError(basic).statusCode).toBe(401);
});

test('a port failure keeps its cause for the log, not for the response', () => {
  const cause = new Error('connection reset');
  const err = new TemporarilyUnavailable({
    reason: 'signer_unavailable',
    description: 'the signer is unavailable; retry later',
    cause,
  });
  expect(err.cause).toBe(cause);
  expect(oauthError(err).statusCode).toBe(503);
  expect(oauthError(err).body).not.toContain('connection reset');
});
