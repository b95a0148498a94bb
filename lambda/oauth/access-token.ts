/** The RFC 9068 access token: claims from the grant, a compact JWS signed through the Signer port. */
import { randomFillSync } from 'node:crypto';
import type { Signer } from '../ports.js';
import type { Grant } from './grant.js';
import type { IdJagClaims } from './id-jag.js';

export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly client_id: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly scope: string;
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
  /** DPOP-TOKEN: the key the token is bound to (RFC 9449 §6.1). */
  readonly cnf?: { readonly jkt: string };
}

export function accessTokenClaims(args: {
  issuer: string;
  subjectPrefix: string;
  assertion: IdJagClaims;
  grant: Grant;
  now: number;
  /** DPOP-TOKEN: the thumbprint of the key the token is bound to, when it is bound. */
  jkt?: string;
  /** Tolerance for an `auth_time` slightly ahead of our clock, in seconds. */
  clockSkew: number;
}): AccessTokenClaims {
  const { assertion: a, grant } = args;
  const [only, ...more] = grant.audience;
  return {
    iss: args.issuer,
    sub: args.subjectPrefix + a.sub,
    // A single resource is a plain string: resource servers (and the playground) compare exactly.
    aud: only !== undefined && more.length === 0 ? only : grant.audience,
    client_id: a.client_id,
    iat: args.now,
    exp: args.now + grant.lifetime,
    jti: randomId(),
    scope: grant.scopes.join(' '),
    ...(saneAuthTime(a.auth_time, args.now, args.clockSkew) && { auth_time: a.auth_time }),
    ...(a.acr !== undefined && { acr: a.acr }),
    ...(a.amr !== undefined && { amr: a.amr }),
    ...(args.jkt !== undefined && { cnf: { jkt: args.jkt } }),
  };
}

/**
 * GRANT-CLAIM-VALUES: `auth_time` is copied only as a whole number of seconds after the epoch that
 * is not in the future: a resource server deciding on a session's age must never read 1e300.
 */
function saneAuthTime(t: number | undefined, now: number, skew: number): t is number {
  return t !== undefined && Number.isSafeInteger(t) && t > 0 && t <= now + skew;
}

/**
 * 128 random bits, base64url. Drawn from a pool filled 256 ids at a time, as crypto.randomUUID
 * does: one trip to the system's random source per 256 tokens instead of one each.
 */
const POOL = Buffer.alloc(16 * 256);
let poolOffset = POOL.length;
function randomId(): string {
  if (poolOffset === POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const id = POOL.toString('base64url', poolOffset, poolOffset + 16);
  poolOffset += 16;
  return id;
}

export function signAccessToken(claims: AccessTokenClaims, signer: Signer): Promise<string> {
  return signJwt('at+jwt', claims, signer);
}

/** A compact RS256 JWS of `claims`, typed `typ`, signed through the Signer port. */
export async function signJwt(typ: string, claims: object, signer: Signer): Promise<string> {
  const kid = await signer.keyId();
  if (typeof kid !== 'string' || kid === '') throw new Error('the signer has no key id');
  const signingInput = `${encodedHeader(typ, kid)}.${b64json(claims)}`;
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  // An RSA-2048 (or larger) signature, or nothing: a broken signer must not yield a token.
  if (!(signature instanceof Uint8Array) || signature.byteLength < 256)
    throw new Error('the signer returned a malformed signature');
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

/** The protected header depends on the type and the key only: encoded once per pair. */
const headers = new Map<string, string>();
function encodedHeader(typ: string, kid: string): string {
  const key = `${typ} ${kid}`;
  let encoded = headers.get(key);
  if (encoded === undefined) {
    if (headers.size > 100) headers.clear();
    encoded = b64json({ alg: 'RS256', typ, kid });
    headers.set(key, encoded);
  }
  return encoded;
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
