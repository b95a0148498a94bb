/**
 * The sample resource on Lambda, behind API Gateway's HTTP API JWT authorizer: API Gateway has
 * already verified the token (signature against our JWKS, iss, aud, exp, and the route's scope),
 * so this answers from the verified claims — and proves our discovery, JWKS and tokens satisfy
 * AWS's own verifier.
 *
 * A JWT authorizer cannot check a DPoP proof (it reads one header, and would take a bound token
 * presented as Bearer), so with DPoP on (`TOKEN_CHECK=function`, lib/sample-resource.ts `dpop`)
 * the routes have no authorizer and this function checks token and proof itself, with the same
 * code the local resource runs (RFC 9449 §7).
 */
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import type { HttpEvent } from '../../http/types.js';
import {
  createResourceHandler,
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceMetadata,
  RESOURCE_ROUTES,
} from './resource-server.js';

// Read once at start-up; set by lib/sample-resource.ts.
const ISSUER = process.env.ISSUER ?? '';
const RESOURCE = process.env.RESOURCE ?? '';
const inFunction =
  process.env.TOKEN_CHECK === 'function'
    ? createResourceHandler({
        issuer: ISSUER,
        resource: RESOURCE,
        jwksUri: process.env.JWKS_URI || `${ISSUER}/.well-known/jwks.json`,
      })
    : undefined;

export async function handler(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (inFunction) return inFunction(event as unknown as HttpEvent);
  const json = (statusCode: number, body: unknown) => ({
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  });
  const method = event.requestContext.http.method.toUpperCase();
  if (method === 'GET' && event.rawPath === PROTECTED_RESOURCE_METADATA_PATH) {
    return json(200, protectedResourceMetadata(ISSUER, RESOURCE));
  }
  const route = RESOURCE_ROUTES[`${method} ${event.rawPath}`];
  const claims = event.requestContext.authorizer?.jwt?.claims;
  if (!route || !claims) return json(404, { error: 'not_found' });
  return json(200, route.answer(claims, event as never));
}
