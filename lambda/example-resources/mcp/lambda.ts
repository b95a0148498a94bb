/**
 * The example MCP server on Lambda, behind the same HTTP API as the authorization server. No API
 * Gateway authorizer: a tool's scope is in the JSON-RPC body, so the function checks the token
 * itself (lambda/example-resources/mcp/mcp-resource.ts), with the very code the local server runs.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createMcpResource } from './mcp-resource.js';

// Read once at start-up; set by lib/mcp-server-resource.ts. Missing settings fail the cold start.
const required = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const ISSUER = required('ISSUER');
const RESOURCE = required('RESOURCE');

const mcp = createMcpResource({
  issuer: ISSUER,
  resource: RESOURCE,
  jwksUri: process.env.JWKS_URI || `${ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`,
  endpointPath: process.env.MCP_PATH || undefined,
  // The message only: an error from the MCP handler never carries the caller's token.
  onError: (err) => console.error(JSON.stringify({ level: 'ERROR', message: err.message })),
});

export async function handler(
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  // API Gateway's rawPath is a path; anything else names another server (RFC 9112 §3.2.2), as an
  // absolute-form target does locally.
  if (!event.rawPath.startsWith('/'))
    return {
      statusCode: 400,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({
        error: 'invalid_request',
        error_description: 'the request target must be a path on this server',
      }),
    };
  const response = await mcp.fetch(toRequest(event));
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  // The handler is stateless: every answer, an SSE one included, is complete when it resolves.
  return { statusCode: response.status, headers, body: await response.text() };
}

/**
 * API Gateway payload 2.0 → a web-standard Request on the resource's own origin (the path set, not
 * resolved against it: `//host/x` stays a path).
 */
export function toRequest(event: APIGatewayProxyEventV2): Request {
  const url = new URL(RESOURCE);
  url.pathname = event.rawPath;
  url.search = event.rawQueryString ? `?${event.rawQueryString}` : '';
  url.hash = '';
  const method = event.requestContext.http.method.toUpperCase();
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers.set(name, value);
  const body =
    method === 'GET' || method === 'HEAD' || event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64')
        : event.body;
  return new Request(url, { method, headers, body });
}
