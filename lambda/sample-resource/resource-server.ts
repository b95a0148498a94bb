/**
 * A sample protected resource: a small REST API that accepts this server's access tokens the way a
 * resource server should (RFC 9068 §4, RFC 6750, RFC 9728). It speaks API Gateway payload 2.0, so
 * the same handler runs behind the local bridge and on Lambda.
 */
import type { JWTPayload } from 'jose';
import type { HttpEvent, HttpHandler, HttpResult } from '../http/types.js';
import {
  bearerChallenge,
  bearerToken,
  createAccessTokenVerifier,
  grantedScopes,
  InvalidToken,
  type AccessTokenVerifierOptions,
} from '../protected-resource/access-token-verifier.js';

export type ResourceServerOptions = AccessTokenVerifierOptions;

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
  const verify = createAccessTokenVerifier(options);
  const metadataUrl = new URL(PROTECTED_RESOURCE_METADATA_PATH, options.resource).href;
  const challenge = (params: Record<string, string>) => bearerChallenge(metadataUrl, params);
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

    const token = bearerToken(event.headers?.authorization);
    if (!token) {
      // RFC 6750 §3.1: no credentials at all gets a bare challenge, without an error code.
      return json(401, { error: 'unauthorized' }, { 'www-authenticate': challenge({}) });
    }
    let claims: JWTPayload;
    try {
      claims = await verify(token);
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      const description = err.description;
      return json(
        401,
        { error: 'invalid_token', error_description: description },
        {
          'www-authenticate': challenge({ error: 'invalid_token', error_description: description }),
        },
      );
    }
    if (!grantedScopes(claims).includes(route.scope)) {
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
