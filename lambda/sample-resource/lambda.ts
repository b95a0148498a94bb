/**
 * The sample resource on Lambda, behind API Gateway's HTTP API JWT authorizer: API Gateway has
 * already verified the token (signature against our JWKS, iss, aud, exp, and the route's scope),
 * so this answers from the verified claims — and proves our discovery, JWKS and tokens satisfy
 * AWS's own verifier.
 */
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceMetadata,
  RESOURCE_ROUTES,
} from './resource-server.js';

// Read once at start-up; set by lib/sample-resource.ts.
const ISSUER = process.env.ISSUER ?? '';
const RESOURCE = process.env.RESOURCE ?? '';

export async function handler(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
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
