/**
 * JSON responses, OAuth error responses and CORS: the one place errors become HTTP (RESP-ERRORS,
 * AUTH-FAILURE, CORS-ORIGINS).
 */
import { InvalidClient, UseDpopNonce, type OAuthError } from '../oauth/errors.js';
import { CORS_POLICY } from '../cdk-shared/cors-policy.js';
import { header, method, type HttpEvent, type HttpResult } from './types.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function noStoreJson(statusCode: number, body: unknown): HttpResult {
  return json(statusCode, body, NO_STORE);
}

export function oauthError(err: OAuthError): HttpResult {
  const result = noStoreJson(err.status, { error: err.error, error_description: err.description });
  if (err instanceof InvalidClient && err.usedBasic) {
    result.headers['www-authenticate'] = 'Basic realm="token", charset="UTF-8"';
  }
  // DPOP-NONCE: the nonce the client must sign into its next proof (RFC 9449 §8).
  if (err instanceof UseDpopNonce) result.headers['dpop-nonce'] = err.nonce;
  return result;
}

export function methodNotAllowed(allowed: readonly string[]): HttpResult {
  return {
    ...noStoreJson(405, {
      error: 'invalid_request',
      error_description: `method not allowed; use ${allowed.join(' or ')}`,
    }),
    headers: { ...NO_STORE, 'content-type': 'application/json', allow: allowed.join(', ') },
  };
}

export class Cors {
  private readonly origins: ReadonlySet<string>;

  constructor(
    origins: readonly string[],
    private readonly methods: readonly string[],
  ) {
    this.origins = new Set(origins);
  }

  /** The answer to a preflight: 204 with the grants for an allowed origin, 403 without them otherwise. */
  preflight(event: HttpEvent): HttpResult {
    const origin = header(event, 'origin');
    if (!origin || !this.origins.has(origin)) {
      return { statusCode: 403, headers: { vary: 'Origin' }, body: '' };
    }
    return {
      statusCode: 204,
      headers: {
        ...this.allow(origin),
        'access-control-allow-methods': [...this.methods, 'OPTIONS'].join(', '),
        'access-control-allow-headers': CORS_POLICY.allowHeaders.join(', '),
        'access-control-max-age': String(CORS_POLICY.maxAgeSeconds),
      },
      body: '',
    };
  }

  /** Adds the CORS grant to a response for an allowed origin; responses vary by Origin either way. */
  /** Adds the headers to `result` itself: every result passed here was just built for this response. */
  decorate(event: HttpEvent, result: HttpResult): HttpResult {
    const origin = header(event, 'origin');
    if (origin && this.origins.has(origin)) {
      result.headers['access-control-allow-origin'] = origin;
      // CORS-ORIGINS: a browser client must be able to read the nonce it has to sign (DPOP-NONCE).
      if (result.headers['dpop-nonce'] !== undefined)
        result.headers['access-control-expose-headers'] = CORS_POLICY.exposeHeaders.join(', ');
    }
    result.headers.vary = 'Origin';
    return result;
  }

  isPreflight(event: HttpEvent): boolean {
    return method(event) === 'OPTIONS';
  }

  private allow(origin: string): Record<string, string> {
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  }
}
