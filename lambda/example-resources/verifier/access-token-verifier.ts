/**
 * How a resource server accepts this server's access tokens (RFC 9068 §4, RFC 6750, RFC 9728,
 * RFC 9449 §7): one verifier shared by the sample REST resource and the MCP server, so both check
 * the same things in the same way — typ at+jwt, RS256, our issuer, its own resource as the exact
 * audience, expiry — and, for a DPoP-bound token (`cnf.jkt`), the proof that comes with it.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { DPOP_ALGORITHMS, singleDpopHeader, verifyDpopProof } from '../../oauth/dpop.js';
import { InvalidDpopProof, OAuthError } from '../../oauth/errors.js';
import { ProofReplayCache } from './proof-replay-cache.js';

/** What a resource server knows of itself and of the authorization server it trusts. */
export interface AccessTokenVerifierOptions {
  /**
   * Our authorization server's issuer identifier: the only accepted `iss`.
   * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 (validation, step 3)
   */
  readonly issuer: string;
  /**
   * This resource's identifier: the only accepted `aud`, compared exactly, so that a token minted
   * for another resource is never accepted here.
   * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
   */
  readonly resource: string;
  /** Where the authorization server publishes its keys (its metadata's `jwks_uri`). */
  readonly jwksUri: string;
  /** Seconds of tolerance on `exp` and `iat`, and on a DPoP proof's `iat`. @default 30 */
  readonly clockTolerance?: number;
  /** A key resolver other than the remote JWKS, for tests. @default the keys at `jwksUri` */
  readonly keys?: JWTVerifyGetKey;
  /** Seconds since the epoch; tests hold it still. @default the system clock */
  readonly now?: () => number;
  /**
   * Spent DPoP proofs. Share one between the authenticators of one process that serve the same
   * resource, so a proof spent on one is spent on all.
   * @default one per authenticator
   */
  readonly proofReplay?: ProofReplayCache;
}

/**
 * A token the resource refuses (RFC 6750 §3.1 invalid_token, RFC 9449 §7.1 invalid_dpop_proof);
 * the description is safe to send. `scheme` is the challenge to answer with: DPoP for anything to
 * do with a bound token or a proof.
 */
export class InvalidToken extends Error {
  constructor(
    /** Why, in words safe to send as `error_description`. */
    readonly description: string,
    /** The challenge's `error`. */
    readonly error: 'invalid_token' | 'invalid_dpop_proof' = 'invalid_token',
    /** The scheme of the challenge to answer with (resourceChallenge). */
    readonly scheme: 'Bearer' | 'DPoP' = 'Bearer',
  ) {
    super(description);
    this.name = 'InvalidToken';
  }
}

/** Verifies one access token and resolves to its claims, or rejects with InvalidToken. */
export type AccessTokenVerifier = (token: string) => Promise<JWTPayload>;

/**
 * A verifier for this resource's tokens; it fetches and caches the JWKS on first use. It checks
 * what RFC 9068 asks of a resource server: `typ` at+jwt, RS256, the signature, `iss`, `aud`
 * exactly, `exp` and `iat`, and the claims every token of this server carries. It does not check
 * a DPoP binding: use createRequestAuthenticator for requests.
 *
 * @example
 * ```ts
 * const verify = createAccessTokenVerifier({
 *   issuer: 'https://auth.example.com',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 *   resource: 'https://api.example.com/',
 * });
 * const claims = await verify(token); // throws InvalidToken
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUri), {
      timeoutDuration: 2000,
      cooldownDuration: 30_000,
    });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.resource,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
        clockTolerance: options.clockTolerance ?? 30,
      });
      return payload;
    } catch (err) {
      throw new InvalidToken(
        err instanceof errors.JOSEError ? describeFailure(err) : 'the token cannot be verified',
      );
    }
  };
}

/** What a request presents, as a resource sees it. */
export interface PresentedRequest {
  /** The `Authorization` header, if any. */
  readonly authorization: string | null | undefined;
  /** The `DPoP` header, if any. */
  readonly dpop: string | null | undefined;
  /** The HTTP method, in any case. */
  readonly method: string;
  /**
   * The URL the request was sent to, as this resource is known (RFC 9449 §4.3 check 9): built from
   * the resource's configured URL, never from the request's Host.
   */
  readonly url: string;
}

/** A request whose token was accepted. */
export interface AuthenticatedRequest {
  /** The access token as presented. */
  readonly token: string;
  /** Its verified claims. */
  readonly claims: JWTPayload;
  /** The key the token is bound to (and the proof was signed with), for a DPoP token. */
  readonly jkt?: string;
}

/** No credentials at all: RFC 6750 §3.1's bare challenge, without an error code. */
export class NoCredentials extends Error {
  constructor() {
    super('no access token');
    this.name = 'NoCredentials';
  }
}

/**
 * Authenticates a request to a resource: `Authorization: Bearer` for a bearer token, or
 * `Authorization: DPoP` with a `DPoP` proof for a bound one (RFC 9449 §7.1). A bound token is
 * accepted only with a proof signed by its key, for this method and URL, carrying the token's hash
 * (`ath`), fresh, and not seen before by this instance; never as a bearer token (RFC 9449 §7.2).
 * Only headers, method and URL are read: a caller can be refused before its body is.
 *
 * Rejects with NoCredentials when there is no token at all, and with InvalidToken otherwise;
 * answer either with 401 and resourceChallenge.
 *
 * @example
 * ```ts
 * const authenticate = createRequestAuthenticator({ issuer, jwksUri, resource });
 * try {
 *   const { claims } = await authenticate({ authorization, dpop, method: 'GET', url: resource });
 *   if (!grantedScopes(claims).includes('read')) return forbidden();
 * } catch (err) {
 *   if (err instanceof InvalidToken || err instanceof NoCredentials) return unauthorized(err);
 *   throw err;
 * }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export function createRequestAuthenticator(
  options: AccessTokenVerifierOptions,
): (request: PresentedRequest) => Promise<AuthenticatedRequest> {
  const verify = createAccessTokenVerifier(options);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const replay = options.proofReplay ?? new ProofReplayCache();
  const tolerance = options.clockTolerance ?? 30;
  return async (request) => {
    const presented = parseAuthorization(request.authorization);
    if (!presented) throw new NoCredentials();
    const { scheme, token } = presented;
    let claims: JWTPayload;
    try {
      claims = await verify(token);
    } catch (err) {
      if (err instanceof InvalidToken && scheme === 'DPoP')
        throw new InvalidToken(err.description, 'invalid_token', 'DPoP');
      throw err;
    }
    const cnf = claims.cnf as { jkt?: unknown } | undefined;
    const jkt = typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
    if (cnf !== undefined && jkt === undefined)
      throw new InvalidToken('the token is bound in a way this resource cannot check');
    if (jkt === undefined) {
      if (scheme === 'DPoP')
        throw new InvalidToken(
          'the token is not DPoP-bound: present it as Bearer',
          'invalid_token',
          'DPoP',
        );
      return { token, claims };
    }
    // RFC 9449 §7.2: a bound token presented as a bearer token is refused, proof or not.
    if (scheme === 'Bearer')
      throw new InvalidToken(
        'the token is DPoP-bound: present it with the DPoP scheme and a DPoP proof',
        'invalid_token',
        'DPoP',
      );
    try {
      const proofJws = singleDpopHeader(request.dpop ?? undefined);
      if (proofJws === undefined)
        throw new InvalidDpopProof({
          reason: 'dpop_proof_malformed',
          description: 'a DPoP-bound token needs a DPoP proof header',
        });
      const proof = await verifyDpopProof(proofJws, {
        method: request.method.toUpperCase(),
        url: request.url,
        now: now(),
        clockSkew: tolerance,
        accessToken: token,
        boundTo: jkt,
      });
      if (!replay.claim(`${proof.jkt}.${proof.jti}`, proof.jkt, proof.replayUntil, now()))
        throw new InvalidDpopProof({
          reason: 'dpop_jti_replayed',
          description:
            'the DPoP proof has been used before, or too many recent proofs of this key are still live: sign a new one for each request',
        });
      return { token, claims, jkt };
    } catch (err) {
      if (err instanceof OAuthError)
        throw new InvalidToken(err.description, 'invalid_dpop_proof', 'DPoP');
      throw err;
    }
  };
}

/** The scheme and token of an `Authorization` header (RFC 6750 §2.1, RFC 9449 §7.1), or undefined. */
export function parseAuthorization(
  authorization: string | null | undefined,
): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '');
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/**
 * The `WWW-Authenticate` value for a refusal (or for no credentials, with no params): always the
 * RFC 9728 metadata URL, and a DPoP challenge naming the proof algorithms (RFC 9449 §7.1). With no
 * credentials both schemes are offered, Bearer first; a refusal names its own scheme.
 *
 * @example
 * ```ts
 * // For an InvalidToken `err`:
 * resourceChallenge(metadataUrl, {
 *   scheme: err.scheme,
 *   params: { error: err.error, error_description: err.description },
 * });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export function resourceChallenge(
  resourceMetadataUrl: string,
  refusal?: { scheme: 'Bearer' | 'DPoP'; params: Readonly<Record<string, string>> },
): string {
  const dpop = (params: Readonly<Record<string, string>>) =>
    'DPoP ' +
    Object.entries({
      ...params,
      algs: DPOP_ALGORITHMS.join(' '),
      resource_metadata: resourceMetadataUrl,
    })
      .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`)
      .join(', ');
  if (!refusal) return `${bearerChallenge(resourceMetadataUrl)}, ${dpop({})}`;
  return refusal.scheme === 'DPoP'
    ? dpop(refusal.params)
    : bearerChallenge(resourceMetadataUrl, refusal.params);
}

/** The bearer token of an `Authorization` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')?.[1];
}

/**
 * The scopes a verified token grants (its space-separated `scope` claim).
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2.3
 */
export function grantedScopes(claims: JWTPayload): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
}

/**
 * A `WWW-Authenticate: Bearer` challenge that always points at the resource's RFC 9728 metadata.
 * Without parameters it is the bare challenge RFC 6750 §3.1 asks for when no token was sent.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export function bearerChallenge(
  resourceMetadataUrl: string,
  params: Readonly<Record<string, string>> = {},
): string {
  return (
    'Bearer ' +
    Object.entries({ ...params, resource_metadata: resourceMetadataUrl })
      .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '')}"`)
      .join(', ')
  );
}

/**
 * RFC 9728 §3.1: the metadata of a resource with a path lives under the well-known prefix followed
 * by that path (`https://h/mcp` → `https://h/.well-known/oauth-protected-resource/mcp`).
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 */
export function protectedResourceMetadataUrl(resource: string): URL {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  url.pathname = `/.well-known/oauth-protected-resource${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

function describeFailure(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `the token's ${err.claim} claim is not accepted here`;
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return 'the token signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token was not signed by a published key';
  return 'the token is malformed or cannot be verified';
}
