/**
 * An MCP server protected by this authorization server's access tokens, as one web-standard
 * `fetch(Request) → Response` function, so the same code serves node:http locally and Lambda:
 *
 * - its RFC 9728 metadata at the well-known path for its resource URL;
 * - the MCP endpoint (Streamable HTTP, the official SDK's stateless handler), behind a token gate:
 *   no token → 401 with `Bearer resource_metadata="…"` and `DPoP algs="…"` challenges, a bad one →
 *   401 invalid_token; a DPoP-bound token only with a valid proof (RFC 9449 §7: `DPoP` scheme,
 *   proof by its key for this request, else 401 invalid_dpop_proof with a DPoP challenge); a tool
 *   whose scope the token lacks → 403 insufficient_scope naming it.
 */
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import {
  createRequestAuthenticator,
  grantedScopes,
  InvalidToken,
  NoCredentials,
  protectedResourceMetadataUrl,
  resourceChallenge,
  type AccessTokenVerifierOptions,
} from '../protected-resource/access-token-verifier.js';
import { DPOP_ALGORITHMS } from '../oauth/dpop.js';
import { createMcpServer, MCP_SCOPES, NoteBook } from './tools.js';

export interface McpResourceOptions extends AccessTokenVerifierOptions {
  /**
   * Where the MCP endpoint is served. Defaults to the resource URL's own path, which is what MCP
   * clients expect (`https://host/mcp` is both the endpoint and the token audience); for a
   * path-less resource (`https://host/`, as xaa.dev registers one), to `/mcp`.
   */
  readonly endpointPath?: string;
  /** Told of failures inside the MCP handler (never of refused tokens, and never a token). */
  readonly onError?: (err: Error) => void;
}

export interface McpResource {
  /** The RFC 8707 identifier: the `aud` this server accepts, and the metadata's `resource`. */
  readonly resource: string;
  /** The path of the MCP endpoint. */
  readonly endpointPath: string;
  /** The RFC 9728 metadata document's URL (the well-known path for the resource URL). */
  readonly metadataUrl: string;
  fetch(request: Request): Promise<Response>;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function createMcpResource(options: McpResourceOptions): McpResource {
  const metadataUrl = protectedResourceMetadataUrl(options.resource);
  const resourcePath = new URL(options.resource).pathname;
  const endpointPath = options.endpointPath ?? (resourcePath === '/' ? '/mcp' : resourcePath);
  const authenticateRequest = createRequestAuthenticator(options);
  const notes = new NoteBook();
  // Stateless: a fresh server per request, for 2025-era and 2026-era clients alike. Answers are
  // one JSON body unless a tool streams, which none here does.
  const mcp = createMcpHandler(() => createMcpServer(notes), { onerror: options.onError });
  const metadata = JSON.stringify({
    resource: options.resource,
    authorization_servers: [options.issuer],
    scopes_supported: MCP_SCOPES,
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: DPOP_ALGORITHMS,
    resource_name: 'Example MCP server (Cross App Access)',
  });

  const refuse = (status: number, body: object, challenge: string) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { ...JSON_HEADERS, 'www-authenticate': challenge },
    });

  /** The verified caller, or the 401 that refuses the request. */
  async function authenticate(request: Request): Promise<AuthInfo | Response> {
    try {
      const { token, claims } = await authenticateRequest({
        authorization: request.headers.get('authorization'),
        dpop: request.headers.get('dpop'),
        method: request.method,
        // Locally the Host was checked against this resource's names; on Lambda the URL is built
        // on the resource's own origin (lambda.ts): either way, what a proof's htu must name.
        url: request.url,
      });
      return {
        token,
        clientId: String(claims.client_id),
        scopes: grantedScopes(claims),
        expiresAt: claims.exp,
        resource: new URL(options.resource),
        resourceMetadataUrl: metadataUrl.href,
        extra: { subject: claims.sub },
      };
    } catch (err) {
      // RFC 6750 §3.1: no credentials at all gets a bare challenge, without an error code.
      if (err instanceof NoCredentials)
        return refuse(401, { error: 'unauthorized' }, resourceChallenge(metadataUrl.href));
      if (!(err instanceof InvalidToken)) throw err;
      const params = { error: err.error, error_description: err.description };
      return refuse(
        401,
        params,
        resourceChallenge(metadataUrl.href, { scheme: err.scheme, params }),
      );
    }
  }

  return {
    resource: options.resource,
    endpointPath,
    metadataUrl: metadataUrl.href,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === metadataUrl.pathname) return metadataResponse(request, metadata);
      if (path !== endpointPath)
        return new Response(JSON.stringify({ error: 'not_found' }), {
          status: 404,
          headers: JSON_HEADERS,
        });
      const auth = await authenticate(request);
      if (auth instanceof Response) return auth;
      return mcp.fetch(request, { authInfo: auth });
    },
    close: () => mcp.close(),
  };
}

/** RFC 9728 §3.2: public, so any origin may read it (a browser-based agent discovers it too). */
function metadataResponse(request: Request, body: string): Response {
  const cors = { 'access-control-allow-origin': '*' };
  if (request.method === 'OPTIONS')
    return new Response(null, {
      status: 204,
      headers: { ...cors, 'access-control-allow-methods': 'GET, HEAD, OPTIONS' },
    });
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return new Response(JSON.stringify({ error: 'invalid_request' }), {
      status: 405,
      headers: { ...JSON_HEADERS, allow: 'GET, HEAD, OPTIONS' },
    });
  return new Response(request.method === 'HEAD' ? null : body, {
    status: 200,
    headers: {
      ...cors,
      'content-type': 'application/json',
      'cache-control': 'public, max-age=3600',
    },
  });
}
