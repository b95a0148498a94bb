/**
 * {issuer}/authorize (DISC-AUTHZ-ENDPOINT): published because the MCP SDK's metadata schema requires
 * an authorization_endpoint, though this server has no interactive flow. Every request, whatever its
 * method or parameters, gets the same error shown to whoever sent it. It never redirects: the
 * redirect_uri of a request nobody registered is unvalidated, and RFC 6749 §4.1.2.1 forbids sending
 * the user agent there.
 */
import type { ServiceConfig } from '../config.js';
import { endpointUrl, PATHS } from '../oauth/metadata.js';
import { header, type HttpHandler, type HttpResult } from '../http/types.js';

/** The one error this endpoint gives (RFC 6749 §4.1.2.1): no response type is supported here. */
export const AUTHORIZE_ERROR = 'unsupported_response_type';

export function createAuthorizeHandler(config: ServiceConfig): HttpHandler {
  const description =
    'this authorization server has no interactive flow and issues nothing here: a client redeems ' +
    `an ID-JAG at ${endpointUrl(config.issuer, PATHS.token)} with the JWT bearer grant (RFC 7523)`;
  // Built once from configuration only: nothing from the request is ever echoed back.
  const json = JSON.stringify({ error: AUTHORIZE_ERROR, error_description: description });
  const html = page(description);
  const headers = {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-content-type-options': 'nosniff',
    // The query may carry state or a code_challenge: do not pass it on to any link target.
    'referrer-policy': 'no-referrer',
  };
  return async (event): Promise<HttpResult> => {
    const wantsHtml = /\btext\/html\b/i.test(header(event, 'accept') ?? '');
    return {
      statusCode: 400,
      headers: wantsHtml
        ? {
            ...headers,
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
          }
        : { ...headers, 'content-type': 'application/json' },
      body: wantsHtml ? html : json,
    };
  };
}

function page(description: string): string {
  const escaped = description.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Authorization error</title></head>',
    `<body><h1>${AUTHORIZE_ERROR}</h1><p>${escaped}</p></body></html>`,
    '',
  ].join('\n');
}
