/**
 * Validating an ID-JAG (SPEC §5, draft §4.4.1, RFC 7523 §3), in the order the SPEC gives: nothing
 * read from the token before its signature verifies is trusted beyond choosing the key set.
 * Every refusal is InvalidGrant with a description that names what failed; an issuer whose keys
 * cannot be fetched is TemporarilyUnavailable. Single use (§5.8) is claimed by the caller, last.
 */
import { quote } from './quote.js';
import { isUtf8 } from 'node:buffer';
import { errors as joseErrors, type JWSHeaderParameters } from 'jose';
import type { TrustedIssuer } from '../config.js';
import type { Clock, ClientRecord, IssuerKeys } from '../ports.js';
import { InvalidGrant, OAuthError } from './errors.js';
import { SignatureRejected, verifyCompactSignature } from './jws-verify.js';

const ID_JAG_TYPES: readonly string[] = ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'];

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

/** What the checks learn as they go: each later check may rely on what an earlier one set. */
interface CheckState {
  header?: Record<string, unknown>;
  unverified?: Record<string, unknown>;
  trustedIssuer?: TrustedIssuer;
  claims?: Omit<IdJagClaims, 'aud'> & { aud?: string };
}

export interface AssertionCheck {
  readonly id: string;
  /** What the check establishes, for a person reading a check report. */
  readonly title: string;
  /** Later checks can still run when this one fails (they do not depend on it). */
  readonly independent?: boolean;
  run(
    assertion: string,
    s: CheckState,
    client: Pick<ClientRecord, 'clientId' | 'issuers'>,
    ctx: AssertionContext,
  ): void | Promise<void>;
}

/** SPEC §5, in order. verifyIdJag stops at the first failure; checkIdJag reports on each. */
const ASSERTION_CHECKS: readonly AssertionCheck[] = [
  {
    id: 'format',
    title: 'a compact JWS with header typ oauth-id-jag+jwt (§5.1)',
    run(assertion, s) {
      const parts = assertion.split('.');
      if (
        parts.length !== 3 ||
        parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) ||
        !parts[0] ||
        !parts[1]
      ) {
        throw new InvalidGrant('assertion is not a compact JWS (three base64url parts)');
      }
      const header = decodeSegment(parts[0], 'header');
      if (typeof header.typ !== 'string' || !ID_JAG_TYPES.includes(header.typ.toLowerCase())) {
        throw new InvalidGrant(
          `assertion typ must be oauth-id-jag+jwt, got ${header.typ === undefined ? 'none' : quote(header.typ)}`,
        );
      }
      // jose ignores a kid that is not a string when it picks a key; a malformed header is refused.
      if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
        throw new InvalidGrant('assertion kid must be a non-empty string');
      }
      s.header = header;
      s.unverified = decodeSegment(parts[1], 'payload');
    },
  },
  {
    id: 'issuer',
    title: 'iss is a trusted issuer, and not this server (§5.2)',
    run(_a, s, _c, ctx) {
      // Read unverified, only to pick the key set.
      const iss = s.unverified!.iss;
      if (typeof iss !== 'string') throw new InvalidGrant('assertion is missing the iss claim');
      if (iss === ctx.issuer) {
        throw new InvalidGrant(
          'assertion was issued by this authorization server, which accepts only other issuers',
        );
      }
      s.trustedIssuer = ctx.trustedIssuers.get(iss);
      if (!s.trustedIssuer) throw new InvalidGrant(`issuer ${quote(iss)} is not trusted`);
    },
  },
  {
    id: 'algorithm',
    title: "alg is in the issuer's asymmetric allow-list (§5.3)",
    run(_a, s) {
      const alg = s.header!.alg;
      const trusted = s.trustedIssuer!;
      if (typeof alg !== 'string' || !trusted.algorithms.includes(alg)) {
        throw new InvalidGrant(
          `assertion alg ${quote(alg ?? null)} is not accepted from ${trusted.issuer} (accepted: ${trusted.algorithms.join(', ')})`,
        );
      }
    },
  },
  {
    id: 'signature',
    title: "the signature verifies with the issuer's JWKS (§5.3)",
    run: (assertion, s, _c, ctx) =>
      verifySignature(assertion, s.header as JWSHeaderParameters, s.trustedIssuer!, ctx.issuerKeys),
  },
  {
    id: 'claims',
    title: 'iss, sub, aud, client_id, jti, exp and iat are present, of the right types (§5.4)',
    run(_a, s) {
      s.claims = readClaims(s.unverified!, s.unverified!.iss as string);
    },
  },
  {
    id: 'audience',
    title: "aud is this server's issuer, exactly (§5.5)",
    independent: true,
    run(_a, s, _c, ctx) {
      s.claims!.aud = checkAudience(s.unverified!.aud, ctx.issuer);
    },
  },
  {
    id: 'times',
    title: 'exp, nbf and iat are within the clock skew; the lifetime within the maximum (§5.6)',
    independent: true,
    run: (_a, s, _c, ctx) => checkTimes(s.claims!, s.trustedIssuer!, ctx),
  },
  {
    id: 'client_id',
    title: 'client_id is the authenticated client (§5.7)',
    independent: true,
    run(_a, s, client) {
      if (s.claims!.client_id !== client.clientId) {
        throw new InvalidGrant(
          `assertion client_id ${quote(s.claims!.client_id)} does not match the authenticated client ${quote(client.clientId)}`,
        );
      }
    },
  },
  {
    id: 'client_issuer',
    title: 'the client may redeem assertions from this issuer (§5.9)',
    independent: true,
    run(_a, s, client) {
      const iss = s.trustedIssuer!.issuer;
      if (client.issuers && !client.issuers.includes(iss)) {
        throw new InvalidGrant(
          `client ${quote(client.clientId)} may not redeem assertions from ${iss}`,
        );
      }
    },
  },
];

export async function verifyIdJag(
  assertion: string,
  client: ClientRecord,
  ctx: AssertionContext,
): Promise<VerifiedAssertion> {
  const s: CheckState = {};
  for (const check of ASSERTION_CHECKS) await check.run(assertion, s, client, ctx);
  return { trustedIssuer: s.trustedIssuer!, claims: s.claims as IdJagClaims };
}

export type CheckOutcome =
  | { readonly id: string; readonly title: string; readonly status: 'pass' }
  | {
      readonly id: string;
      readonly title: string;
      readonly status: 'fail';
      readonly reason: string;
    }
  | {
      readonly id: string;
      readonly title: string;
      readonly status: 'skipped';
      readonly reason: string;
    };

/**
 * Every check, without redeeming: a report of what passed and what failed and why. Checks that
 * need an earlier one to pass are skipped after it fails. `client` undefined skips client checks.
 */
export async function checkIdJag(
  assertion: string,
  client: Pick<ClientRecord, 'clientId' | 'issuers'> | undefined,
  ctx: AssertionContext,
): Promise<CheckOutcome[]> {
  const s: CheckState = {};
  const outcomes: CheckOutcome[] = [];
  let blockedBy: string | undefined;
  for (const { id, title, independent, run } of ASSERTION_CHECKS) {
    if (blockedBy) {
      outcomes.push({ id, title, status: 'skipped', reason: `needs "${blockedBy}" to pass` });
      continue;
    }
    if (!client && id.startsWith('client')) {
      outcomes.push({ id, title, status: 'skipped', reason: 'no client given (--client-id)' });
      continue;
    }
    try {
      await run(assertion, s, client ?? { clientId: '' }, ctx);
      outcomes.push({ id, title, status: 'pass' });
    } catch (err) {
      if (!(err instanceof InvalidGrant)) throw err;
      outcomes.push({ id, title, status: 'fail', reason: err.description });
      if (!independent) blockedBy = id;
    }
  }
  return outcomes;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    const bytes = Buffer.from(segment, 'base64url');
    if (!isUtf8(bytes)) throw new Error('not UTF-8');
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidGrant(`assertion ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidGrant(`assertion ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

async function verifySignature(
  assertion: string,
  header: JWSHeaderParameters,
  trusted: TrustedIssuer,
  issuerKeys: IssuerKeys,
): Promise<void> {
  try {
    await verifyCompactSignature(assertion, header, issuerKeys.resolverFor(trusted.issuer));
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    if (err instanceof SignatureRejected) {
      throw new InvalidGrant(
        err.message.startsWith('assertion')
          ? err.message
          : `assertion cannot be verified: ${err.message}`,
      );
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey) {
      throw new InvalidGrant(`no key in the JWKS of ${trusted.issuer} matches the assertion's kid`);
    }
    if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      throw new InvalidGrant(
        `several keys in the JWKS of ${trusted.issuer} match: the assertion needs a kid`,
      );
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
  // An ID-JAG bound to a key (DPOP-CNF-JKT, DPOP-CNF-OTHER) must not become a bearer token; this
  // server does not verify DPoP proofs, so it refuses them.
  if (p.cnf !== undefined)
    throw new InvalidGrant(
      'assertion is bound to a key (cnf): proof of possession is not supported here',
    );
  const str = (name: string): string => {
    const v = p[name];
    if (typeof v !== 'string' || v === '')
      throw new InvalidGrant(`assertion ${name} claim must be a non-empty string`);
    return v;
  };
  const time = (name: string): number => {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidGrant(`assertion ${name} claim must be a NumericDate`);
    return v;
  };
  const optional = <T>(name: string, read: (name: string) => T): T | undefined =>
    p[name] === undefined ? undefined : read(name);
  const stringList = (name: string): string[] => {
    const v = p[name];
    if (typeof v === 'string' && v !== '') return [v];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== ''))
      return v as string[];
    throw new InvalidGrant(`assertion ${name} claim must be a string or an array of strings`);
  };
  const amr = optional('amr', (name) => {
    const v = p[name];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new InvalidGrant('assertion amr claim must be an array of strings');
    }
    if (v.length > 16 || v.some((x: string) => x.length > 64))
      throw new InvalidGrant('assertion amr claim is larger than 16 values of 64 characters');
    return v as string[];
  });
  const scope = optional('scope', (name) => {
    if (typeof p[name] !== 'string')
      throw new InvalidGrant('assertion scope claim must be a space-separated string');
    return p[name] as string;
  });
  return {
    iss,
    sub: short(str('sub'), 'sub'),
    client_id: str('client_id'),
    jti: str('jti'),
    exp: time('exp'),
    iat: time('iat'),
    nbf: optional('nbf', time),
    scope,
    resource: optional('resource', stringList),
    auth_time: optional('auth_time', time),
    acr: optional('acr', (name) => short(str(name), name)),
    amr,
  };
}

/**
 * Claims copied into the access token are bounded (OpenID Connect caps `sub` at 255 characters):
 * the token must stay well inside what any signer accepts (KMS signs at most 4 KB of raw input).
 */
function short(value: string, name: string): string {
  if (value.length > 255)
    throw new InvalidGrant(`assertion ${name} claim is longer than 255 characters`);
  return value;
}

/** draft §4.4.1: `aud` is our issuer, as a string or an array of exactly that one element. */
function checkAudience(aud: unknown, issuer: string): string {
  let value: unknown = aud;
  if (Array.isArray(aud)) {
    if (aud.length !== 1)
      throw new InvalidGrant(`assertion aud must name exactly one audience, got ${aud.length}`);
    value = aud[0];
  }
  if (typeof value !== 'string') throw new InvalidGrant('assertion aud claim must be a string');
  if (value !== issuer) {
    const hint =
      value.replace(/\/$/, '') === issuer.replace(/\/$/, '')
        ? ' (they differ by a trailing slash)'
        : '';
    throw new InvalidGrant(
      `assertion aud ${quote(value)} is not this server's issuer ${quote(issuer)}${hint}`,
    );
  }
  return value;
}

function checkTimes(
  c: Pick<IdJagClaims, 'exp' | 'iat' | 'nbf'>,
  trusted: TrustedIssuer,
  ctx: AssertionContext,
): void {
  const now = ctx.clock.now();
  const skew = ctx.clockSkew;
  const at = (t: number) => new Date(t * 1000).toISOString();
  if (c.exp <= now - skew)
    throw new InvalidGrant(`assertion expired at ${at(c.exp)} (server time ${at(now)})`);
  if (c.nbf !== undefined && c.nbf > now + skew) {
    throw new InvalidGrant(`assertion is not valid before ${at(c.nbf)} (server time ${at(now)})`);
  }
  if (c.iat > now + skew)
    throw new InvalidGrant(`assertion iat ${at(c.iat)} is in the future (server time ${at(now)})`);
  if (c.exp <= c.iat) throw new InvalidGrant('assertion exp is not after its iat');
  const lifetime = c.exp - c.iat;
  if (lifetime > trusted.maxAssertionLifetime + skew) {
    throw new InvalidGrant(
      `assertion lifetime ${lifetime} s exceeds the ${trusted.maxAssertionLifetime} s that ${trusted.issuer} may grant`,
    );
  }
}
