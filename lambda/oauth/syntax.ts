/** The shapes of identifiers this server issues or accepts, shared by the token endpoint and the admin. */

/**
 * A client id the admin can register: characters a Secrets Manager secret name may hold, so the id
 * can be part of one. The token endpoint refuses any other before it reaches a log or a database.
 */
export const CLIENT_ID = /^[A-Za-z0-9._@+=-]{1,128}$/;

/** RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The host names that are this machine by definition, as a URL's `hostname` writes them: where
 * plain http is allowed for a local demo (an issuer, a JWKS, a client's document or keys).
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** CIMD-ID: the longest Client ID Metadata Document URL accepted as a client id. */
export const MAX_CLIENT_ID_URL = 1024;

/**
 * CIMD-ID (draft-ietf-oauth-client-id-metadata-document §3): a client id that is a URL naming its
 * own metadata document: `https` (or `http` to a loopback name, which only the development switch
 * lets through the policy), with a path, no query, no fragment, no user or password, no `.` or `..`
 * segment, and written exactly as the WHATWG parser would write it back, so one document has one
 * id. The path holds no percent-escape, `;` or backslash: a server that decodes `%2F` or resolves
 * `..;/` would otherwise serve, under a policy's prefix, a document from outside it.
 */
export function isClientIdUrl(value: string): boolean {
  if (value.length > MAX_CLIENT_ID_URL || !/^[\x21-\x7E]+$/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return false;
  if (url.href !== value || value.includes('#') || url.username !== '' || url.password !== '')
    return false;
  if (url.pathname === '/' || url.pathname === '' || url.search !== '' || value.includes('?'))
    return false;
  // WHATWG parsing resolves dot segments away, so the href check above refuses them already.
  return !/[%;\\]/.test(url.pathname);
}
