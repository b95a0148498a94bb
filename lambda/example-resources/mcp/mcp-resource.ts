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
 *
 * The gate reads the request line and headers only (`admit`); a body is read after it, up to a
 * cap (`handle`), so a caller without a valid token never makes the server read one. A DPoP
 * proof's `htu` must name the endpoint at the configured resource URL, whatever Host the request
 * carried.
 */
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { readBounded } from '../../http/bounded-body.js';
import {
  createRequestAuthenticator,
  grantedScopes,
  InvalidToken,
  NoCredentials,
  protectedResourceMetadataUrl,
  resourceChallenge,
  type AccessTokenVerifierOptions,
} from '../verifier/access-token-verifier.js';
import { DPOP_ALGORITHMS } from '../../oauth/dpop.js';
import { hostName } from '../verifier/node-edge.js';
import { createMcpServer, MCP_SCOPES, NoteBook } from './tools.js';

/** The largest JSON-RPC body accepted: the tools here take a few hundred bytes. */
export const MCP_MAX_BODY_BYTES = 1024 * 1024;

export interface McpResourceOptions extends AccessTokenVerifierOptions {
  /**
   * Where the MCP endpoint is served. Defaults to the resource URL's own path, which is what MCP
   * clients expect (`https://host/mcp` is both the endpoint and the token audience); for a
   * path-less resource (`https://host/`, as xaa.dev registers one), to `/mcp`.
   */
  readonly endpointPath?: string;
  /** Told of failures inside the MCP handler (never of refused tokens, and never a token). */
  readonly onError?: (err: Error) => void;
  /** The largest request body, in bytes (MCP_MAX_BODY_BYTES by default): 413 past it. */
  readonly maxBodyBytes?: number;
}

/** A request the gate let through: who the token speaks for. */
export interface McpAdmission {
  readonly authInfo?: AuthInfo;
}

export interface McpResource {
  /** The RFC 8707 identifier: the `aud` this server accepts, and the metadata's `resource`. */
  readonly resource: string;
  /** The path of the MCP endpoint. */
  readonly endpointPath: string;
  /** The RFC 9728 metadata document's URL (the well-known path for the resource URL). */
  readonly metadataUrl: string;
  /** `admit`, then `handle`: for a request whose body is already at hand (Lambda, tests). */
  fetch(request: Request): Promise<Response>;
  /**
   * Routes and authenticates a request from its method, URL and headers alone, never reading its
   * body: the answer (metadata, 404, 401, 400) or the admission `handle` needs.
   */
  admit(request: Request): Promise<Response | McpAdmission>;
  /** Reads the admitted request's body (up to the cap) and answers it. */
  handle(request: Request, admission: McpAdmission): Promise<Response>;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function createMcpResource(options: McpResourceOptions): McpResource {
  const metadataUrl = protectedResourceMetadataUrl(options.resource);
  const resourcePath = new URL(options.resource).pathname;
  const endpointPath = options.endpointPath ?? (resourcePath === '/' ? '/mcp' : resourcePath);
  // The URL a DPoP proof must name: the endpoint on the configured resource's origin.
  const endpointUrl = new URL(endpointPath, options.resource).href;
  const maxBodyBytes = options.maxBodyBytes ?? MCP_MAX_BODY_BYTES;
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
        url: endpointUrl,
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

  async function admit(request: Request): Promise<Response | McpAdmission> {
    // The URL never comes from Host here, but a Host with a path or user information in it is a
    // malformed request on any transport (RFC 9112 §3.2).
    const host = request.headers.get('host');
    if (host !== null && hostName(host) === undefined)
      return new Response(
        JSON.stringify({ error: 'invalid_request', error_description: 'the Host is malformed' }),
        { status: 400, headers: JSON_HEADERS },
      );
    const path = new URL(request.url).pathname;
    if (path === metadataUrl.pathname) return metadataResponse(request, metadata);
    if (path !== endpointPath)
      return new Response(JSON.stringify({ error: 'not_found' }), {
        status: 404,
        headers: JSON_HEADERS,
      });
    const auth = await authenticate(request);
    return auth instanceof Response ? auth : { authInfo: auth };
  }

  async function handle(request: Request, admission: McpAdmission): Promise<Response> {
    const body = await readBounded(request, maxBodyBytes);
    if (body === undefined)
      return new Response(
        JSON.stringify({
          error: 'invalid_request',
          error_description: `the request body is larger than ${maxBodyBytes} bytes`,
        }),
        { status: 413, headers: JSON_HEADERS },
      );
    const bounded = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      ...(body !== null && { body }),
    });
    return mcp.fetch(bounded, { authInfo: admission.authInfo });
  }

  return {
    resource: options.resource,
    endpointPath,
    metadataUrl: metadataUrl.href,
    admit,
    handle,
    async fetch(request) {
      const admission = await admit(request);
      return admission instanceof Response ? admission : handle(request, admission);
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
