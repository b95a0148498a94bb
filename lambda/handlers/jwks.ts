/** GET /.well-known/jwks.json (JWKS-KEYS). */
import type { PublicKeys } from '../ports.js';
import { TemporarilyUnavailable } from '../oauth/errors.js';
import { Cors, methodNotAllowed, oauthError } from '../http/responses.js';
import { method, type HttpHandler } from '../http/types.js';
import { describeError, type Log } from '../logging.js';

export function createJwksHandler(deps: {
  keys: PublicKeys;
  corsOrigins: readonly string[];
  logger: Log;
}): HttpHandler {
  const cors = new Cors(deps.corsOrigins, ['GET']);
  return async (event) => {
    if (cors.isPreflight(event)) return cors.preflight(event);
    if (method(event) !== 'GET') return cors.decorate(event, methodNotAllowed(['GET']));
    try {
      const jwks = await deps.keys.jwks();
      return cors.decorate(event, {
        statusCode: 200,
        // Short enough that a key rotated in is seen well before it signs (docs/operations.md).
        headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
        body: JSON.stringify(jwks),
      });
    } catch (err) {
      deps.logger.error('public keys unavailable', { cause: describeError(err) });
      return cors.decorate(
        event,
        oauthError(
          new TemporarilyUnavailable({
            reason: 'signing_keys_unavailable',
            description: 'signing keys are unavailable; retry later',
          }),
        ),
      );
    }
  };
}
