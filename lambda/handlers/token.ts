/** POST /token: the HTTP edge of the TokenService (RESP-SUCCESS, RESP-ERRORS). */
import { internalError, OAuthError, type Refusal } from '../oauth/errors.js';
import type { TokenAudit, TokenService } from '../oauth/token-service.js';
import { Cors, methodNotAllowed, noStoreJson, oauthError } from '../http/responses.js';
import { describeError, type Log } from '../logging.js';
import { bodyBytes, header, method, type HttpHandler, type HttpResult } from '../http/types.js';

export interface TokenHandlerDeps {
  readonly service: TokenService;
  readonly corsOrigins: readonly string[];
  readonly logger: Log;
  /**
   * Told of every outcome, for metrics and tests: the refusal's OAuth error and reason code, or
   * undefined when a token was issued.
   */
  readonly onOutcome?: (refusal: Refusal | undefined) => void;
}

export function createTokenHandler({
  service,
  corsOrigins,
  logger,
  onOutcome,
}: TokenHandlerDeps): HttpHandler {
  const cors = new Cors(corsOrigins, ['POST']);
  /** DPOP-NONCE: a fresh nonce on every answer when nonces are required (RFC 9449 §8.2). */
  const withNonce = async (result: HttpResult): Promise<HttpResult> => {
    if (result.headers['dpop-nonce'] === undefined) {
      const nonce = await service.currentDpopNonce();
      if (nonce !== undefined) result.headers['dpop-nonce'] = nonce;
    }
    return result;
  };
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
          dpop: header(event, 'dpop'),
        },
        audit,
      );
      logger.info('token issued', { outcome: 'issued', ...audit });
      onOutcome?.(undefined);
      return cors.decorate(event, await withNonce(noStoreJson(200, response)));
    } catch (err) {
      if (err instanceof OAuthError) {
        const log = err.status >= 500 ? logger.error.bind(logger) : logger.info.bind(logger);
        log('token refused', {
          outcome: 'refused',
          error: err.error,
          reason: err.reason,
          error_description: err.description,
          ...(err.logDetail !== undefined && { detail: err.logDetail }),
          ...audit,
          ...(err.cause !== undefined && { cause: describeError(err.cause) }),
        });
        onOutcome?.({ error: err.error, reason: err.reason });
        return cors.decorate(event, await withNonce(oauthError(err)));
      }
      // Not a refusal but a bug or a broken adapter: the client gets a fixed message, the log the rest.
      const failure = internalError();
      logger.error('token request failed', {
        outcome: 'failed',
        reason: failure.reason,
        ...audit,
        cause: describeError(err),
      });
      onOutcome?.({ error: failure.error, reason: failure.reason });
      return cors.decorate(event, oauthError(failure));
    }
  };
}
