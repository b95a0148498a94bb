/**
 * The token request as it arrives on the wire → a typed TokenRequest (REQ-FORM, REQ-GRANT-TYPE,
 * REQ-ASSERTION, REQ-DUPLICATE, REQ-SIZE, AUTH-REQUIRED, AUTH-BASIC, AUTH-ONE-METHOD). Only syntax
 * is checked here; who the client is and what the assertion says are later steps.
 */
import { quote } from './quote.js';
import {
  AUTHENTICATION_FAILED,
  InvalidClient,
  InvalidRequest,
  UnsupportedGrantType,
} from './errors.js';
import { CLIENT_ID } from './syntax.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Large enough for any real assertion and credentials; small enough that no body is a burden. */
export const MAX_BODY_BYTES = 16 * 1024;
/** RFC 8707 §2: `resource` may be repeated; every other parameter at most once (RFC 6749 §3.2). */
const REPEATABLE = new Set(['resource']);

export type AuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentials {
  readonly method: AuthMethod;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface TokenRequest {
  readonly assertion: string;
  /** The requested scope string, or undefined when the request names none. */
  readonly scope: string | undefined;
  /** Requested resource indicators, in order, without repeats. */
  readonly resources: readonly string[];
  readonly credentials: ClientCredentials;
}

export interface RawTokenRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: Uint8Array;
  /** The `DPoP` header (DPOP-PROOF), as the edge received it: repeated headers comma-joined. */
  readonly dpop?: string | undefined;
}

export function parseTokenRequest(raw: RawTokenRequest): TokenRequest {
  if (raw.body.byteLength > MAX_BODY_BYTES) {
    throw new InvalidRequest({
      reason: 'body_too_large',
      description: `request body exceeds ${MAX_BODY_BYTES} bytes`,
    });
  }
  const [mediaType = ''] = (raw.contentType ?? '').split(';');
  if (mediaType.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest({
      reason: 'content_type_unsupported',
      description: `Content-Type must be application/x-www-form-urlencoded, got ${raw.contentType ? quote(raw.contentType) : 'none'}`,
    });
  }
  const params = parseForm(raw.body);
  const single = (name: string): string | undefined => {
    const values = params.get(name);
    if (values && values.length > 1)
      throw new InvalidRequest({
        reason: 'parameter_repeated',
        description: `parameter ${name} is given more than once`,
      });
    return values?.[0];
  };
  for (const name of params.keys()) if (!REPEATABLE.has(name)) single(name);

  const grantType = single('grant_type');
  if (grantType === undefined) {
    throw new InvalidRequest({
      reason: 'grant_type_missing',
      description: 'grant_type is required',
    });
  }
  if (grantType !== JWT_BEARER_GRANT) {
    throw new UnsupportedGrantType({
      reason: 'grant_type_unsupported',
      description: `grant_type must be ${JWT_BEARER_GRANT}`,
    });
  }
  const assertion = single('assertion');
  if (assertion === undefined) {
    throw new InvalidRequest({ reason: 'assertion_missing', description: 'assertion is required' });
  }

  return {
    assertion,
    scope: single('scope'),
    resources: [...new Set(params.get('resource') ?? [])],
    credentials: clientCredentials(raw.authorization, single('client_id'), single('client_secret')),
  };
}

/**
 * application/x-www-form-urlencoded → name → values. Strict where URLSearchParams is lenient: bad
 * UTF-8 or a broken percent escape is an error, not a replacement character. Parameters without a
 * value are dropped, as if omitted (RFC 6749 §3.1).
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseForm(body: Uint8Array): Map<string, string[]> {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new InvalidRequest({
      reason: 'body_not_utf8',
      description: 'request body is not valid UTF-8',
    });
  }
  const params = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = formDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : formDecode(pair.slice(eq + 1));
    if (value === '') continue;
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}

function formDecode(s: string): string {
  // Most values (an assertion is base64url) need no decoding at all: skip the work for them.
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest({
      reason: 'body_malformed',
      description: 'request body is not valid form encoding',
    });
  }
}

function clientCredentials(
  authorization: string | undefined,
  bodyId: string | undefined,
  bodySecret: string | undefined,
): ClientCredentials {
  const basic = parseBasic(authorization);
  if (basic) {
    if (bodySecret !== undefined || (bodyId !== undefined && bodyId !== basic.clientId)) {
      throw new InvalidRequest({
        reason: 'auth_methods_multiple',
        description:
          'client credentials are given both in the Authorization header and in the body',
      });
    }
    return registrable(basic);
  }
  if (bodyId === undefined) {
    throw new InvalidClient({
      reason: 'client_auth_missing',
      description: 'client authentication is required (client_secret_basic or client_secret_post)',
    });
  }
  if (bodySecret === undefined) {
    throw new InvalidClient({
      reason: 'client_secret_missing',
      description: 'client_secret is required: only confidential clients may redeem assertions',
    });
  }
  return registrable({ method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret });
}

/**
 * No client has an id the admin could not have registered: such an id fails here, before it is
 * logged or looked up (so neither a log line nor a database key takes it at any length).
 */
function registrable(credentials: ClientCredentials): ClientCredentials {
  if (!CLIENT_ID.test(credentials.clientId)) {
    throw new InvalidClient({
      reason: 'client_id_malformed',
      description: AUTHENTICATION_FAILED,
      usedBasic: credentials.method === 'client_secret_basic',
    });
  }
  return credentials;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * RFC 7617 Basic with RFC 6749 §2.3.1's form-encoded id and secret. Any other scheme is an attempt
 * at authentication this endpoint does not support: invalid_client, with a Basic challenge.
 */
function parseBasic(authorization: string | undefined): ClientCredentials | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  // Repeated headers arrive comma-joined (API Gateway, and the local bridge likewise); no Basic
  // credential contains a comma. Taking either one would be a guess (REQ-DUPLICATE).
  if (authorization.includes(',')) {
    throw new InvalidRequest({
      reason: 'parameter_repeated',
      description: 'the Authorization header is given more than once',
    });
  }
  const match = /^\s*basic(?:\s+(.*))?$/i.exec(authorization);
  if (!match) {
    throw new InvalidClient({
      reason: 'auth_scheme_unsupported',
      description:
        'unsupported Authorization scheme: use HTTP Basic (client_secret_basic) or client_secret_post',
      usedBasic: true,
    });
  }
  const token = (match[1] ?? '').trim();
  const malformed = (why: string) =>
    new InvalidClient({
      reason: 'basic_credentials_malformed',
      description: `malformed Basic credentials: ${why}`,
      usedBasic: true,
    });
  if (!BASE64.test(token) || token.length % 4 !== 0) throw malformed('not base64');
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw malformed('no colon between client id and secret');
  let clientId: string;
  let clientSecret: string;
  try {
    clientId = formDecode(decoded.slice(0, colon));
    clientSecret = formDecode(decoded.slice(colon + 1));
  } catch {
    throw malformed('client id or secret is not form-url-encoded');
  }
  if (clientId === '') throw malformed('empty client id');
  if (clientSecret === '') throw malformed('empty client secret');
  return { method: 'client_secret_basic', clientId, clientSecret };
}
