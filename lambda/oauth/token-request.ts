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
import { inspectClientAssertion } from './client-assertion.js';
import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT, JWT_DPOP_GRANT } from './grant-types.js';
import { CLIENT_ID, isClientIdUrl } from './syntax.js';

const GRANT_TYPES: readonly string[] = [JWT_BEARER_GRANT, JWT_DPOP_GRANT];
/** Large enough for any real assertion and credentials; small enough that no body is a burden. */
export const MAX_BODY_BYTES = 16 * 1024;
/** RFC 8707 §2: `resource` may be repeated; every other parameter at most once (RFC 6749 §3.2). */
const REPEATABLE = new Set(['resource']);

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export type ClientCredentials =
  | {
      readonly method: 'client_secret_basic' | 'client_secret_post';
      readonly clientId: string;
      readonly clientSecret: string;
    }
  | {
      /** AUTH-PRIVATE-KEY-JWT: the assertion passed inspectClientAssertion's checks. */
      readonly method: 'private_key_jwt';
      readonly clientId: string;
      readonly assertion: string;
      readonly jti: string;
      readonly exp: number;
    };

/** What checking a client assertion's claims needs (AUTH-PRIVATE-KEY-JWT). */
export interface ClientAssertionContext {
  readonly issuer: string;
  readonly now: number;
  readonly clockSkew: number;
}

export interface TokenRequest {
  readonly grantType: typeof JWT_BEARER_GRANT | typeof JWT_DPOP_GRANT;
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

export function parseTokenRequest(
  raw: RawTokenRequest,
  assertionContext: ClientAssertionContext,
): TokenRequest {
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
  if (!GRANT_TYPES.includes(grantType)) {
    throw new UnsupportedGrantType({
      reason: 'grant_type_unsupported',
      description: `grant_type must be ${JWT_BEARER_GRANT} (or ${JWT_DPOP_GRANT} with a DPoP proof)`,
    });
  }
  const assertion = single('assertion');
  if (assertion === undefined) {
    throw new InvalidRequest({ reason: 'assertion_missing', description: 'assertion is required' });
  }

  return {
    grantType: grantType as TokenRequest['grantType'],
    assertion,
    scope: single('scope'),
    resources: [...new Set(params.get('resource') ?? [])],
    credentials: clientCredentials(
      raw.authorization,
      single('client_id'),
      single('client_secret'),
      { type: single('client_assertion_type'), assertion: single('client_assertion') },
      assertionContext,
    ),
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
  clientAssertion: { type: string | undefined; assertion: string | undefined },
  assertionContext: ClientAssertionContext,
): ClientCredentials {
  const basic = parseBasic(authorization);
  const asserted = clientAssertion.type !== undefined || clientAssertion.assertion !== undefined;
  if (asserted) {
    if (basic || bodySecret !== undefined) {
      throw new InvalidRequest({
        reason: 'auth_methods_multiple',
        description: 'a client_assertion is given together with a client secret',
      });
    }
    return privateKeyJwt(bodyId, clientAssertion, assertionContext);
  }
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
      description:
        'client authentication is required (client_secret_basic, client_secret_post or private_key_jwt)',
    });
  }
  if (bodySecret === undefined) {
    throw new InvalidClient({
      reason: 'client_secret_missing',
      description:
        'client authentication is required: a client_secret, or a client_assertion (private_key_jwt); only confidential clients may redeem assertions',
    });
  }
  return registrable({ method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret });
}

/**
 * AUTH-PRIVATE-KEY-JWT (RFC 7523 §2.2): `client_assertion_type` says jwt-bearer, `client_assertion`
 * is a JWT whose `sub` names the client; a `client_id` beside it must name the same client.
 */
function privateKeyJwt(
  bodyId: string | undefined,
  given: { type: string | undefined; assertion: string | undefined },
  context: ClientAssertionContext,
): ClientCredentials {
  if (given.type !== CLIENT_ASSERTION_TYPE) {
    throw new InvalidClient({
      reason: 'client_assertion_type_unsupported',
      description: `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`,
    });
  }
  if (given.assertion === undefined) {
    throw new InvalidClient({
      reason: 'client_assertion_malformed',
      description: 'client_assertion is required with client_assertion_type',
    });
  }
  const inspected = inspectClientAssertion(given.assertion, context);
  if (bodyId !== undefined && bodyId !== inspected.clientId) {
    throw new InvalidClient({
      reason: 'client_assertion_issuer',
      description: 'client_id does not match the client_assertion sub',
    });
  }
  return registrable({
    method: 'private_key_jwt',
    clientId: inspected.clientId,
    assertion: given.assertion,
    jti: inspected.jti,
    exp: inspected.exp,
  });
}

/**
 * No client has an id the admin could not have registered, or that is not a Client ID Metadata
 * Document URL (CIMD-ID): such an id fails here, before it is logged or looked up (so neither a
 * log line nor a database key takes it at any length).
 */
function registrable(credentials: ClientCredentials): ClientCredentials {
  if (!CLIENT_ID.test(credentials.clientId) && !isClientIdUrl(credentials.clientId)) {
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
