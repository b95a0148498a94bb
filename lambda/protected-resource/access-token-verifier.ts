/**
 * How a resource server accepts this server's access tokens (RFC 9068 §4, RFC 6750, RFC 9728): one
 * verifier shared by the sample REST resource and the MCP server, so both check the same things in
 * the same way — typ at+jwt, RS256, our issuer, its own resource as the exact audience, expiry.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface AccessTokenVerifierOptions {
  /** Our authorization server's issuer identifier: the only accepted `iss`. */
  readonly issuer: string;
  /** This resource's identifier (RFC 8707): the only accepted `aud`, compared exactly. */
  readonly resource: string;
  /** Where the authorization server publishes its keys. */
  readonly jwksUri: string;
  /** Seconds of tolerance on exp and iat. */
  readonly clockTolerance?: number;
  /** For tests: a key resolver other than the remote JWKS. */
  readonly keys?: JWTVerifyGetKey;
}

/** A token the resource refuses (RFC 6750 §3.1 invalid_token); the description is safe to send. */
export class InvalidToken extends Error {
  constructor(readonly description: string) {
    super(description);
    this.name = 'InvalidToken';
  }
}

export type AccessTokenVerifier = (token: string) => Promise<JWTPayload>;

/** A verifier for this resource's tokens; it fetches and caches the JWKS on first use. */
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

/** The bearer token of an `Authorization` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')?.[1];
}

/** The scopes a verified token grants. */
export function grantedScopes(claims: JWTPayload): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
}

/**
 * A `WWW-Authenticate: Bearer` challenge that always points at the resource's RFC 9728 metadata.
 * Without parameters it is the bare challenge RFC 6750 §3.1 asks for when no token was sent.
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
