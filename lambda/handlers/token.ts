/** POST /token (SPEC §4–§7): the HTTP edge of the TokenService. */
import { OAuthError, TemporarilyUnavailable } from '../oauth/errors.js';
import type { TokenAudit, TokenService } from '../oauth/token-service.js';
import { Cors, methodNotAllowed, noStoreJson, oauthError, serverError } from '../http/responses.js';
import { describeError, type Log } from '../logging.js';
import { bodyBytes, header, method, type HttpHandler } from '../http/types.js';

export interface TokenHandlerDeps {
  readonly service: TokenService;
  readonly corsOrigins: readonly string[];
  readonly logger: Log;
  /** Told of every outcome, for metrics: the OAuth error code, or undefined when a token was issued. */
  readonly onOutcome?: (error: string | undefined) => void;
}

export function createTokenHandler({
  service,
  corsOrigins,
  logger,
  onOutcome,
}: TokenHandlerDeps): HttpHandler {
  const cors = new Cors(corsOrigins, ['POST']);
  return async (event) => {
    if (cors.isPreflight(event)) return cors.preflight(event);
    if (method(event) !== 'POST') return cors.decorate(event, methodNotAllowed(['POST']));
    const audit: TokenAudit & { requestId: string } = { requestId: event.requestContext.requestId };
    try {
      const response = await service.token(
        {
          contentType: header(event, 'content-type'),
          authorization: header(event, 'authorization'),
          body: bodyBytes(event),
        },
        audit,
      );
      logger.info('token issued', { outcome: 'issued', ...audit });
      onOutcome?.(undefined);
      return cors.decorate(event, noStoreJson(200, response));
    } catch (err) {
      if (err instanceof OAuthError) {
        const cause =
          err instanceof TemporarilyUnavailable ? { cause: describeError(err.cause) } : {};
        const log = err.status >= 500 ? logger.error.bind(logger) : logger.info.bind(logger);
        const detail = err.logDetail ? { detail: err.logDetail } : {};
        log('token refused', {
          outcome: 'refused',
          error: err.error,
          error_description: err.description,
          ...detail,
          ...audit,
          ...cause,
        });
        onOutcome?.(err.error);
        return cors.decorate(event, oauthError(err));
      }
      logger.error('token request failed', {
        outcome: 'failed',
        ...audit,
        cause: describeError(err),
      });
      onOutcome?.('server_error');
      return cors.decorate(event, serverError());
    }
  };
}
