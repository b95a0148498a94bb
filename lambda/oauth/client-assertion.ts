/**
 * `private_key_jwt` client authentication (AUTH-PRIVATE-KEY-JWT; RFC 7523 §2.2 and §3, with the
 * audience rule of draft-ietf-oauth-rfc7523bis). Two steps, so that what a client gets told never
 * depends on whether its id is registered:
 *
 * 1. `inspectClientAssertion` reads the JWT without trusting it and checks what any assertion must
 *    satisfy, registered or not (its form, `typ`, algorithm, `iss` = `sub`, `aud`, times, `jti`).
 *    A failure here says exactly what is wrong: nothing about the registry has been looked at.
 * 2. `verifyClientAssertion` checks the signature with the client's own keys and the same claims
 *    again on the verified payload. Every failure here is the one answer of AUTH-FAILURE.
 */
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../config.js';
import type { ClientRecord, KeyResolver } from '../ports.js';
import { AUTHENTICATION_FAILED, InvalidClient, OAuthError, type ReasonFor } from './errors.js';
import { quote, quoteValue as shown } from './quote.js';
import { usableKeys } from './usable-keys.js';

/** The algorithms a client may sign with: asymmetric only (no `none`, no shared-key HMAC). */
export const CLIENT_ASSERTION_ALGORITHMS: readonly string[] = ASYMMETRIC_ALGORITHMS;
/**
 * How far ahead `exp` may lie. A client assertion is made for one request: the MCP SDK's last
 * 300 s, and an assertion good for longer is a credential worth stealing.
 */
export const CLIENT_ASSERTION_MAX_LIFETIME = 600;
/**
 * `typ` values a client authentication JWT may carry (RFC 7523bis; plain JWT; or none). Any other
 * names another kind of JWT: an ID-JAG or a DPoP proof presented here is refused.
 */
const TYPES = new Set(['jwt', 'client-authentication+jwt']);
const MAX_JTI = 255;

export interface ClientAssertionRules {
  /** This server's issuer identifier: the only audience accepted. */
  readonly issuer: string;
  readonly now: number;
  readonly clockSkew: number;
}

export interface InspectedClientAssertion {
  /** `iss` and `sub`: the client the assertion is for. */
  readonly clientId: string;
  readonly alg: string;
  readonly jti: string;
  readonly exp: number;
}

const refuse = (reason: ReasonFor<'invalid_client'>, description: string) =>
  new InvalidClient({ reason, description });

/** Step 1: the checks that need no registry (their failures may say precisely what is wrong). */
export function inspectClientAssertion(
  jwt: string,
  rules: ClientAssertionRules,
): InspectedClientAssertion {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: ReturnType<typeof decodeJwt>;
  try {
    if (jwt.split('.').length !== 3) throw new Error('not a compact JWS');
    header = decodeProtectedHeader(jwt);
    payload = decodeJwt(jwt);
  } catch {
    throw refuse('client_assertion_malformed', 'client_assertion is not a signed JWT');
  }
  // Header members are whatever the JSON says: only strings are read as strings.
  const rawTyp: unknown = header.typ;
  const typ =
    typeof rawTyp === 'string' ? rawTyp.toLowerCase().replace(/^application\//, '') : rawTyp;
  if (typ !== undefined && !(typeof typ === 'string' && TYPES.has(typ)))
    throw refuse(
      'client_assertion_typ_invalid',
      `client_assertion has typ ${shown(rawTyp)}: a client authentication JWT is typed "JWT" or "client-authentication+jwt"`,
    );
  const alg: unknown = header.alg;
  if (typeof alg !== 'string' || !CLIENT_ASSERTION_ALGORITHMS.includes(alg))
    throw refuse(
      'client_assertion_algorithm',
      `client_assertion is signed with ${shown(alg)}; accepted: ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`,
    );
  const { iss, sub, aud, exp, nbf, iat, jti } = payload;
  if (typeof iss !== 'string' || iss === '' || iss !== sub)
    throw refuse(
      'client_assertion_issuer',
      'client_assertion must have iss and sub both equal to the client_id',
    );
  // RFC 7523bis: the audience is the issuer identifier, alone. A token endpoint URL, or a list of
  // several audiences, is what the audience-injection attacks relied on.
  const audience = Array.isArray(aud) && aud.length === 1 ? aud[0] : aud;
  if (audience !== rules.issuer)
    throw refuse(
      'client_assertion_audience',
      `client_assertion aud must be this server's issuer identifier ${quote(rules.issuer)}, as a single value`,
    );
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    throw refuse('client_assertion_claims', 'client_assertion has no exp');
  if (exp + rules.clockSkew <= rules.now)
    throw refuse('client_assertion_expired', 'client_assertion has expired');
  if (exp - rules.now > CLIENT_ASSERTION_MAX_LIFETIME + rules.clockSkew)
    throw refuse(
      'client_assertion_lifetime',
      `client_assertion exp is more than ${CLIENT_ASSERTION_MAX_LIFETIME} s ahead: make one per request`,
    );
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - rules.clockSkew > rules.now))
    throw refuse('client_assertion_not_yet_valid', 'client_assertion is not valid yet (nbf)');
  if (iat !== undefined && (typeof iat !== 'number' || iat - rules.clockSkew > rules.now))
    throw refuse('client_assertion_not_yet_valid', 'client_assertion iat is in the future');
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI)
    throw refuse(
      'client_assertion_claims',
      `client_assertion needs a jti of 1 to ${MAX_JTI} characters (each assertion is used once)`,
    );
  return { clientId: iss, alg, jti, exp };
}

/**
 * Step 2: the signature, with the keys the client registered or publishes, and the claims again on
 * what was signed. `algorithms` narrows the accepted list (a metadata document's
 * `token_endpoint_auth_signing_alg`). The caller spends the `jti` (AUTH-PRIVATE-KEY-JWT: once).
 */
export async function verifyClientAssertion(
  jwt: string,
  clientId: string,
  keys: KeyResolver,
  rules: ClientAssertionRules & { readonly algorithms?: readonly string[] },
): Promise<void> {
  const fail = (reason: ReasonFor<'invalid_client'>, logDetail?: string) =>
    new InvalidClient({ reason, description: AUTHENTICATION_FAILED, logDetail });
  try {
    await jwtVerify(jwt, keys, {
      algorithms: [...(rules.algorithms ?? CLIENT_ASSERTION_ALGORITHMS)],
      issuer: clientId,
      subject: clientId,
      audience: rules.issuer,
      currentDate: new Date(rules.now * 1000),
      clockTolerance: rules.clockSkew,
      requiredClaims: ['exp', 'jti'],
    });
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    if (err instanceof joseErrors.JOSEAlgNotAllowed)
      throw fail('client_assertion_algorithm', 'the algorithm is not one the client registered');
    if (
      err instanceof joseErrors.JWKSNoMatchingKey ||
      err instanceof joseErrors.JWKSMultipleMatchingKeys
    )
      throw fail('client_assertion_key_unknown', 'no single key of the client matches kid/alg');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw fail('client_assertion_signature');
    if (err instanceof joseErrors.JWTExpired) throw fail('client_assertion_expired');
    throw fail('client_assertion_malformed', err instanceof Error ? err.name : undefined);
  }
}

/** What authenticating a private_key_jwt client reaches for. */
export interface ClientAssertionPorts {
  /** The registered client, or the one a metadata document describes (CIMD). */
  readonly client: (clientId: string) => Promise<ClientRecord | undefined>;
  /** The keys published at a client's `jwks_uri`. */
  readonly keysAt: (jwksUri: string, algorithms: readonly string[]) => KeyResolver;
  /** Records the assertion's `jti` as spent; false when it was spent before. */
  readonly spend: (clientId: string, jti: string, until: number) => Promise<boolean>;
}

/**
 * AUTH-PRIVATE-KEY-JWT, after inspectClientAssertion: the client exists, is enabled and
 * authenticates with keys (AUTH-METHOD), its key signed the assertion, and the assertion has not
 * been used before.
 */
export async function authenticateWithClientAssertion(
  credentials: {
    readonly clientId: string;
    readonly assertion: string;
    readonly jti: string;
    readonly exp: number;
  },
  ports: ClientAssertionPorts,
  rules: ClientAssertionRules,
): Promise<ClientRecord> {
  const fail = (reason: ReasonFor<'invalid_client'>) =>
    new InvalidClient({ reason, description: AUTHENTICATION_FAILED });
  const client = await ports.client(credentials.clientId);
  if (!client || !client.enabled) throw fail(client ? 'client_disabled' : 'client_unknown');
  if (client.authMethod !== 'private_key_jwt') throw fail('auth_method_mismatch');
  // A metadata document may name the one algorithm its client signs with: then only that one.
  const pinned = client.tokenEndpointAuthSigningAlg;
  const algorithms = pinned === undefined ? CLIENT_ASSERTION_ALGORITHMS : [pinned];
  let keys: KeyResolver;
  if (client.jwks) {
    const set = await inlineKeySet(client.jwks, algorithms).catch(() => {
      throw fail('client_keys_unavailable');
    });
    keys = (header, token) => set(header, token);
  } else if (client.jwksUri) {
    keys = ports.keysAt(client.jwksUri, algorithms);
  } else {
    throw fail('client_keys_unavailable');
  }
  await verifyClientAssertion(credentials.assertion, client.clientId, keys, {
    ...rules,
    algorithms,
  });
  if (!(await ports.spend(client.clientId, credentials.jti, credentials.exp + rules.clockSkew))) {
    throw new InvalidClient({
      reason: 'client_assertion_replayed',
      description: 'client_assertion has been used before: make a new one for each request',
    });
  }
  return client;
}

/** The most keys a client's JWKS may hold, inline or published. */
export const MAX_CLIENT_KEYS = 64;
/**
 * AUTH-PRIVATE-KEY-JWT: a client's RSA key without `alg` is taken as RS256, the algorithm every
 * client library signs with by default; without this every such key would be ambiguous among the
 * six RSA algorithms and dropped.
 */
export const CLIENT_KEY_DEFAULTS = { rsaWithoutAlg: 'RS256' } as const;

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;
/**
 * A record's keys, imported once per record object: the registries hand back the same object while
 * it is cached, so a busy client's keys are not imported again on every request.
 */
const INLINE_KEY_SETS = new WeakMap<object, Promise<LocalKeySet>>();

function inlineKeySet(
  jwks: NonNullable<ClientRecord['jwks']>,
  algorithms: readonly string[],
): Promise<LocalKeySet> {
  let set = INLINE_KEY_SETS.get(jwks);
  if (!set) {
    set = usableKeys(jwks, algorithms, MAX_CLIENT_KEYS, CLIENT_KEY_DEFAULTS).then((keys) =>
      createLocalJWKSet({ keys }),
    );
    INLINE_KEY_SETS.set(jwks, set);
  }
  return set;
}
