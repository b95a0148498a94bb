/**
 * A sample protected resource: a small REST API that accepts this server's access tokens the way a
 * resource server should (RFC 9068 §4, RFC 6750, RFC 9728). It speaks API Gateway payload 2.0, so
 * the same handler runs behind the local bridge and on Lambda.
 */
import type { JWTPayload } from 'jose';
import type { HttpEvent, HttpHandler, HttpResult } from '../../http/types.js';
import {
  createRequestAuthenticator,
  grantedScopes,
  InvalidToken,
  NoCredentials,
  resourceChallenge,
  type AccessTokenVerifierOptions,
} from '../verifier/access-token-verifier.js';
import { DPOP_ALGORITHMS } from '../../oauth/dpop.js';
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  RESOURCE_SCOPES,
} from '../../cdk-shared/sample-resource-routes.js';

export type ResourceServerOptions = AccessTokenVerifierOptions;

/** Each route, the scope it needs (routes.ts), and its answer. */
export const RESOURCE_ROUTES: Readonly<
  Record<string, { scope: string; answer: (claims: JWTPayload, event: HttpEvent) => unknown }>
> = {
  'GET /api/profile': {
    scope: RESOURCE_SCOPES['GET /api/profile'],
    answer: (c) => ({ subject: c.sub, client_id: c.client_id, scope: c.scope }),
  },
  'POST /api/notes': {
    scope: RESOURCE_SCOPES['POST /api/notes'],
    answer: (c) => ({ created: true, by: c.sub }),
  },
};

export { PROTECTED_RESOURCE_METADATA_PATH };

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
    // RFC 9728 §2: bound tokens are accepted with a proof (RFC 9449 §7).
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  };
}

/** What the gate admitted: the verified claims, and the route they were checked for. */
export interface ResourceAdmission {
  readonly claims: JWTPayload;
  readonly route: (typeof RESOURCE_ROUTES)[string];
}

/** A request as the gate sees it: everything but the body. */
export type RequestHead = Omit<HttpEvent, 'body' | 'isBase64Encoded'>;

export interface ResourceGate {
  /**
   * Routes, authenticates and authorizes a request from its method, path and headers alone, never
   * its body: the answer (metadata, 404, 401, 403) or the admission `answer` needs.
   */
  admit(head: RequestHead): Promise<HttpResult | ResourceAdmission>;
  answer(admission: ResourceAdmission, event: HttpEvent): HttpResult;
}

export function createResourceHandler(options: ResourceServerOptions): HttpHandler {
  const gate = createResourceGate(options);
  return async (event) => {
    const admission = await gate.admit(event);
    return 'statusCode' in admission ? admission : gate.answer(admission, event);
  };
}

export function createResourceGate(options: ResourceServerOptions): ResourceGate {
  const authenticate = createRequestAuthenticator(options);
  const metadataUrl = new URL(PROTECTED_RESOURCE_METADATA_PATH, options.resource).href;
  const origin = new URL(options.resource).origin;
  const json = (
    statusCode: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): HttpResult => ({
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  });

  async function admit(event: RequestHead): Promise<HttpResult | ResourceAdmission> {
    const method = event.requestContext.http.method.toUpperCase();
    if (method === 'GET' && event.rawPath === PROTECTED_RESOURCE_METADATA_PATH) {
      return json(200, protectedResourceMetadata(options.issuer, options.resource));
    }
    const route = RESOURCE_ROUTES[`${method} ${event.rawPath}`];
    if (!route) return json(404, { error: 'not_found' });

    let claims: JWTPayload;
    let scheme: 'Bearer' | 'DPoP';
    try {
      const auth = await authenticate({
        authorization: event.headers?.authorization,
        dpop: event.headers?.dpop,
        method,
        // The URL this resource is known by, not the Host header a caller sends (DPoP htu).
        url: `${origin}${event.rawPath}`,
      });
      claims = auth.claims;
      scheme = auth.jkt === undefined ? 'Bearer' : 'DPoP';
    } catch (err) {
      // RFC 6750 §3.1: no credentials at all gets a bare challenge, without an error code.
      if (err instanceof NoCredentials)
        return json(
          401,
          { error: 'unauthorized' },
          { 'www-authenticate': resourceChallenge(metadataUrl) },
        );
      if (!(err instanceof InvalidToken)) throw err;
      const params = { error: err.error, error_description: err.description };
      return json(401, params, {
        'www-authenticate': resourceChallenge(metadataUrl, { scheme: err.scheme, params }),
      });
    }
    if (!grantedScopes(claims).includes(route.scope)) {
      const description = `this route needs scope ${route.scope}`;
      return json(
        403,
        { error: 'insufficient_scope', error_description: description, scope: route.scope },
        {
          'www-authenticate': resourceChallenge(metadataUrl, {
            scheme,
            params: {
              error: 'insufficient_scope',
              scope: route.scope,
              error_description: description,
            },
          }),
        },
      );
    }
    return { claims, route };
  }

  return {
    admit,
    answer: (admission, event) => json(200, admission.route.answer(admission.claims, event)),
  };
}
