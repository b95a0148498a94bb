/**
 * Retry-After (RFC 9110 §10.2.3) on the token function's 429 and 503 answers: a client told how
 * long to wait spreads its retries instead of coming back at once into the same overload or
 * outage. The value is the signer's own when it knows when it will next try its key
 * (wrapped-key mode), else a short fixed wait.
 *
 * API Gateway's own 429 (the stage and route throttles) never reaches the function and an HTTP
 * API cannot add a header to it (it has no gateway responses): docs/deploy.md says what a client
 * sees then.
 */
import type { HttpHandler } from '../http/types.js';

/** A dependency's usual hiccup (a throttled or slow call) is over within a second or two. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 2;

const RETRYABLE = new Set([429, 503]);

export function withRetryAfter(handler: HttpHandler, seconds: () => number): HttpHandler {
  return async (event) => {
    const result = await handler(event);
    if (RETRYABLE.has(result.statusCode) && result.headers['retry-after'] === undefined)
      result.headers['retry-after'] = String(Math.max(1, Math.ceil(seconds())));
    return result;
  };
}
