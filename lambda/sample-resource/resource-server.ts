/**
 * A sample protected resource: a small REST API that accepts this server's access tokens the way a
 * resource server should (RFC 9068 §4, RFC 6750, RFC 9728). It speaks API Gateway payload 2.0, so
 * the same handler runs behind the local bridge and on Lambda.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { HttpEvent, HttpHandler, HttpResult } from '../http/types.js';

export interface ResourceServerOptions {
  /** Our authorization server's issuer identifier: the only accepted `iss`. */
  readonly issuer: string;
  /** This resource's identifier (RFC 8707): the only accepted `aud`, compared exactly. */
  readonly resource: string;
  /** Where the authorization server publishes its keys. */
  readonly jwksUri: string;
  /** Seconds of tolerance on exp and iat. */
  readonly clockTolerance?: number;
  /** For tests: a key resolver other than the remote JWKS. */
  readonly keys?: JWTVerifyGetKey;
}

/** Each route and the scope it needs. */
export const RESOURCE_ROUTES: Readonly<
  Record<string, { scope: string; answer: (claims: JWTPayload, event: HttpEvent) => unknown }>
> = {
  'GET /api/profile': {
    scope: 'read',
    answer: (c) => ({ subject: c.sub, client_id: c.client_id, scope: c.scope }),
  },
  'POST /api/notes': { scope: 'write', answer: (c) => ({ created: true, by: c.sub }) },
};

export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 §3: where a client learns which authorization server issues tokens for this resource. */
export function protectedResourceMetadata(
  issuer: string,
  resource: string,
): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: [...new Set(Object.values(RESOURCE_ROUTES).map((r) => r.scope))],
    bearer_methods_supported: ['header'],
  };
}

export function createResourceHandler(options: ResourceServerOptions): HttpHandler {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUri), {
      timeoutDuration: 2000,
      cooldownDuration: 30_000,
    });
  const metadataUrl = new URL(PROTECTED_RESOURCE_METADATA_PATH, options.resource).href;
  const challenge = (params: Record<string, string>) =>
    'Bearer ' +
    Object.entries({ ...params, resource_metadata: metadataUrl })
      .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`)
      .join(', ');
  const json = (
    statusCode: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): HttpResult => ({
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  });

  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    if (method === 'GET' && event.rawPath === PROTECTED_RESOURCE_METADATA_PATH) {
      return json(200, protectedResourceMetadata(options.issuer, options.resource));
    }
    const route = RESOURCE_ROUTES[`${method} ${event.rawPath}`];
    if (!route) return json(404, { error: 'not_found' });

    const authorization = event.headers?.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
    if (!match) {
      // RFC 6750 §3.1: no credentials at all gets a bare challenge, without an error code.
      return json(401, { error: 'unauthorized' }, { 'www-authenticate': challenge({}) });
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.resource,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
        clockTolerance: options.clockTolerance ?? 30,
      }));
    } catch (err) {
      const description =
        err instanceof errors.JOSEError ? describeFailure(err) : 'the token cannot be verified';
      return json(
        401,
        { error: 'invalid_token', error_description: description },
        {
          'www-authenticate': challenge({ error: 'invalid_token', error_description: description }),
        },
      );
    }
    const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!granted.includes(route.scope)) {
      const description = `this route needs scope ${route.scope}`;
      return json(
        403,
        { error: 'insufficient_scope', error_description: description, scope: route.scope },
        {
          'www-authenticate': challenge({
            error: 'insufficient_scope',
            scope: route.scope,
            error_description: description,
          }),
        },
      );
    }
    return json(200, route.answer(claims, event));
  };
}

function describeFailure(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `the token's ${err.claim} claim is not accepted here`;
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return 'the token signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was not signed by a published key';
  return 'the token is malformed or cannot be verified';
}
