/**
 * Validating an ID-JAG (SPEC §5, draft §4.4.1, RFC 7523 §3), in the order the SPEC gives: nothing
 * read from the token before its signature verifies is trusted beyond choosing the key set.
 * Every refusal is InvalidGrant with a description that names what failed; an issuer whose keys
 * cannot be fetched is TemporarilyUnavailable. Single use (§5.8) is claimed by the caller, last.
 */
import { compactVerify, errors as joseErrors } from 'jose';
import type { TrustedIssuer } from '../config.js';
import type { Clock, ClientRecord, IssuerKeys } from '../ports.js';
import { InvalidGrant, OAuthError } from './errors.js';

export const ID_JAG_TYPES: readonly string[] = ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'];

export interface IdJagClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly jti: string;
  readonly exp: number;
  readonly iat: number;
  readonly nbf?: number;
  readonly scope?: string;
  /** The `resource` claim, always as a list. */
  readonly resource?: readonly string[];
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

export interface VerifiedAssertion {
  readonly trustedIssuer: TrustedIssuer;
  readonly claims: IdJagClaims;
}

export interface AssertionContext {
  /** This server's issuer identifier: the only accepted audience. */
  readonly issuer: string;
  readonly trustedIssuers: ReadonlyMap<string, TrustedIssuer>;
  readonly clockSkew: number;
  readonly issuerKeys: IssuerKeys;
  readonly clock: Clock;
}

export async function verifyIdJag(
  assertion: string,
  client: ClientRecord,
  ctx: AssertionContext,
): Promise<VerifiedAssertion> {
  // 1. A compact JWS with three parts, typed as an ID-JAG.
  const parts = assertion.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[0] || !parts[1]) {
    throw new InvalidGrant('assertion is not a compact JWS (three base64url parts)');
  }
  const header = decodeSegment(parts[0], 'header');
  if (typeof header.typ !== 'string' || !ID_JAG_TYPES.includes(header.typ.toLowerCase())) {
    throw new InvalidGrant(
      `assertion typ must be oauth-id-jag+jwt, got ${header.typ === undefined ? 'none' : JSON.stringify(header.typ)}`,
    );
  }
  const unverified = decodeSegment(parts[1], 'payload');

  // 2. The issuer, read unverified only to pick its key set.
  const iss = unverified.iss;
  if (typeof iss !== 'string') throw new InvalidGrant('assertion is missing the iss claim');
  if (iss === ctx.issuer) {
    throw new InvalidGrant('assertion was issued by this authorization server, which accepts only other issuers');
  }
  const trustedIssuer = ctx.trustedIssuers.get(iss);
  if (!trustedIssuer) throw new InvalidGrant(`issuer ${JSON.stringify(iss)} is not trusted`);

  // 3. An allowed asymmetric algorithm, and a signature that verifies with the issuer's keys.
  const alg = header.alg;
  if (typeof alg !== 'string' || !trustedIssuer.algorithms.includes(alg)) {
    throw new InvalidGrant(
      `assertion alg ${JSON.stringify(alg ?? null)} is not accepted from ${iss} (accepted: ${trustedIssuer.algorithms.join(', ')})`,
    );
  }
  await verifySignature(assertion, trustedIssuer, ctx.issuerKeys);

  // 4-7, 9. The claims, now that they are known to come from the issuer.
  const claims: IdJagClaims = { ...readClaims(unverified, iss), aud: checkAudience(unverified.aud, ctx.issuer) };
  checkTimes(claims, trustedIssuer, ctx);
  if (claims.client_id !== client.clientId) {
    throw new InvalidGrant(
      `assertion client_id ${JSON.stringify(claims.client_id)} does not match the authenticated client ${JSON.stringify(client.clientId)}`,
    );
  }
  if (client.issuers && !client.issuers.includes(iss)) {
    throw new InvalidGrant(`client ${JSON.stringify(client.clientId)} may not redeem assertions from ${iss}`);
  }
  return { trustedIssuer, claims };
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
  } catch {
    throw new InvalidGrant(`assertion ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidGrant(`assertion ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

async function verifySignature(assertion: string, trusted: TrustedIssuer, issuerKeys: IssuerKeys): Promise<void> {
  try {
    await compactVerify(assertion, issuerKeys.resolverFor(trusted.issuer), { algorithms: [...trusted.algorithms] });
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    if (err instanceof joseErrors.JWKSNoMatchingKey) {
      throw new InvalidGrant(`no key in the JWKS of ${trusted.issuer} matches the assertion's kid`);
    }
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      throw new InvalidGrant(`several keys in the JWKS of ${trusted.issuer} match: the assertion needs a kid`);
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new InvalidGrant('assertion signature does not verify');
    }
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
      // A malformed JWS, a critical header we do not understand, a key that does not fit the alg.
      throw new InvalidGrant(`assertion cannot be verified: ${err.message}`);
    }
    throw err;
  }
}

const REQUIRED = ['sub', 'aud', 'client_id', 'jti', 'exp', 'iat'] as const;

function readClaims(p: Record<string, unknown>, iss: string): Omit<IdJagClaims, 'aud'> {
  for (const name of REQUIRED) {
    if (p[name] === undefined) throw new InvalidGrant(`assertion is missing the ${name} claim`);
  }
  const str = (name: string): string => {
    const v = p[name];
    if (typeof v !== 'string' || v === '') throw new InvalidGrant(`assertion ${name} claim must be a non-empty string`);
    return v;
  };
  const time = (name: string): number => {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidGrant(`assertion ${name} claim must be a NumericDate`);
    return v;
  };
  const optional = <T>(name: string, read: (name: string) => T): T | undefined =>
    p[name] === undefined ? undefined : read(name);
  const stringList = (name: string): string[] => {
    const v = p[name];
    if (typeof v === 'string' && v !== '') return [v];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '')) return v as string[];
    throw new InvalidGrant(`assertion ${name} claim must be a string or an array of strings`);
  };
  const amr = optional('amr', (name) => {
    const v = p[name];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new InvalidGrant('assertion amr claim must be an array of strings');
    }
    return v as string[];
  });
  const scope = optional('scope', (name) => {
    if (typeof p[name] !== 'string') throw new InvalidGrant('assertion scope claim must be a space-separated string');
    return p[name] as string;
  });
  return {
    iss,
    sub: str('sub'),
    client_id: str('client_id'),
    jti: str('jti'),
    exp: time('exp'),
    iat: time('iat'),
    nbf: optional('nbf', time),
    scope,
    resource: optional('resource', stringList),
    auth_time: optional('auth_time', time),
    acr: optional('acr', str),
    amr,
  };
}

/** draft §4.4.1: `aud` is our issuer, as a string or an array of exactly that one element. */
function checkAudience(aud: unknown, issuer: string): string {
  let value: unknown = aud;
  if (Array.isArray(aud)) {
    if (aud.length !== 1) throw new InvalidGrant(`assertion aud must name exactly one audience, got ${aud.length}`);
    value = aud[0];
  }
  if (typeof value !== 'string') throw new InvalidGrant('assertion aud claim must be a string');
  if (value !== issuer) {
    const hint = value.replace(/\/$/, '') === issuer.replace(/\/$/, '') ? ' (they differ by a trailing slash)' : '';
    throw new InvalidGrant(
      `assertion aud ${JSON.stringify(value)} is not this server's issuer ${JSON.stringify(issuer)}${hint}`,
    );
  }
  return value;
}

function checkTimes(c: IdJagClaims, trusted: TrustedIssuer, ctx: AssertionContext): void {
  const now = ctx.clock.now();
  const skew = ctx.clockSkew;
  const at = (t: number) => new Date(t * 1000).toISOString();
  if (c.exp <= now - skew) throw new InvalidGrant(`assertion expired at ${at(c.exp)} (server time ${at(now)})`);
  if (c.nbf !== undefined && c.nbf > now + skew) {
    throw new InvalidGrant(`assertion is not valid before ${at(c.nbf)} (server time ${at(now)})`);
  }
  if (c.iat > now + skew) throw new InvalidGrant(`assertion iat ${at(c.iat)} is in the future (server time ${at(now)})`);
  if (c.exp <= c.iat) throw new InvalidGrant('assertion exp is not after its iat');
  const lifetime = c.exp - c.iat;
  if (lifetime > trusted.maxAssertionLifetime + skew) {
    throw new InvalidGrant(
      `assertion lifetime ${lifetime} s exceeds the ${trusted.maxAssertionLifetime} s that ${trusted.issuer} may grant`,
    );
  }
}
