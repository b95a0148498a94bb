/**
 * DPoP proofs (RFC 9449 §4.3), as the token endpoint and the resources we ship check them:
 * DPOP-PROOF, refused as DPOP-INVALID. jose verifies the JWS with the key embedded in its header
 * (EmbeddedJWK, which refuses a private key); the checks here are what RFC 9449 adds on top: the
 * type, an allowed asymmetric alg, the claims that tie the proof to this request (htm, htu, iat,
 * `ath` at a resource) and the server nonce when one is required (DPOP-NONCE). Single use of `jti`
 * needs a store, so the caller records it after this returns (the ReplayGuard at the token
 * endpoint, a bounded cache at a resource), under `replayUntil`.
 */
import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors as joseErrors,
  jwtVerify,
  type JWK,
} from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../config.js';
import { InvalidDpopProof, UseDpopNonce, type ReasonFor } from './errors.js';
import { jwkRsaExponentAcceptable } from './jws-verify.js';

/**
 * The algorithms a proof may use: asymmetric only (RFC 9449 §4.3 check 5, §11.6), published as
 * `dpop_signing_alg_values_supported` (DPOP-TOKEN).
 */
export const DPOP_ALGORITHMS: readonly string[] = ASYMMETRIC_ALGORITHMS;

/** How long after its `iat` a proof is accepted (the clock skew is added on both sides). */
export const DPOP_PROOF_MAX_AGE = 60;

/**
 * Larger than any honest proof (an RSA-4096 `jwk` and signature come to about 2 KB): a bound on
 * what an unauthenticated caller can make us parse and verify.
 */
const MAX_PROOF_LENGTH = 8192;
/** RSA moduli accepted in a proof's `jwk`, in base64url characters: 2048 to 4096 bits. */
const RSA_N_LENGTH = { min: 342, max: 683 };
/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Server-provided nonces (RFC 9449 §8): the one to hand out now, and whether one is acceptable. */
export interface DpopNonceSource {
  current(): string;
  isValid(nonce: string): boolean;
}

export interface DpopRequest {
  /** The request's method, e.g. POST. */
  readonly method: string;
  /** The URL the request was sent to, as this server is known (query and fragment are ignored). */
  readonly url: string;
  /** Seconds since the epoch. */
  readonly now: number;
  /** Clock tolerance in seconds, on both sides of the proof's window. */
  readonly clockSkew: number;
  /** How far in the past a proof's iat may be, in seconds; DPOP_PROOF_MAX_AGE by default. */
  readonly maxAge?: number;
  /** At a resource: the access token presented with the proof, whose hash `ath` must carry. */
  readonly accessToken?: string;
  /** When the server requires a nonce (DPOP-NONCE). */
  readonly nonces?: DpopNonceSource;
  /**
   * At a resource: the `cnf.jkt` of the token the proof comes with. A proof by another key is
   * refused before its signature is verified, so a caller who holds a bound token but not its key
   * cannot make the resource verify signatures with keys of their choosing.
   */
  readonly boundTo?: string;
}

export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what a bound token carries as `cnf.jkt`. */
  readonly jkt: string;
  readonly jti: string;
  /** Until when (epoch seconds) the jti must be remembered: after that the proof is stale anyway. */
  readonly replayUntil: number;
}

const bad = (reason: ReasonFor<'invalid_dpop_proof'>, description: string) =>
  new InvalidDpopProof({ reason, description });

/**
 * The one DPoP header of a request, or undefined. DPOP-INVALID: API Gateway and the local bridge
 * join repeated headers with commas, and a JWS never holds one, so a comma means more than one.
 */
export function singleDpopHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.includes(',')) {
    throw bad('dpop_header_repeated', 'a request may carry only one DPoP header');
  }
  return value.trim();
}

/** DPOP-PROOF: the proof's key thumbprint and jti, or InvalidDpopProof / UseDpopNonce. */
export async function verifyDpopProof(proof: string, req: DpopRequest): Promise<VerifiedDpopProof> {
  if (proof.length > MAX_PROOF_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(proof)) {
    throw bad('dpop_proof_malformed', 'the DPoP proof is not a compact JWS');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw bad('dpop_proof_malformed', 'the DPoP proof header is not base64url-encoded JSON');
  }
  if (header.typ !== 'dpop+jwt') {
    throw bad('dpop_typ_invalid', 'the DPoP proof typ must be dpop+jwt');
  }
  if (typeof header.alg !== 'string' || !DPOP_ALGORITHMS.includes(header.alg)) {
    throw bad(
      'dpop_alg_not_allowed',
      `the DPoP proof alg must be one of ${DPOP_ALGORITHMS.join(', ')}`,
    );
  }
  checkPublicJwk(header.jwk);
  let jkt: string;
  try {
    jkt = await calculateJwkThumbprint(header.jwk as JWK, 'sha256');
  } catch {
    throw bad('dpop_jwk_invalid', 'the DPoP proof jwk is not a public key of a known type');
  }
  if (req.boundTo !== undefined && jkt !== req.boundTo) {
    throw bad(
      'dpop_jwk_invalid',
      'the DPoP proof is not signed with the key the token is bound to',
    );
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGORITHMS],
      // iat is checked below against the proof's own window; exp and nbf are not proof claims.
      clockTolerance: Number.MAX_SAFE_INTEGER,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw bad('dpop_signature_invalid', 'the DPoP proof signature does not verify with its jwk');
    }
    // jose checks the types of the registered claims once the signature has verified.
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'iat') throw iatNotNumeric();
      throw bad('dpop_claim_invalid', `the DPoP proof ${err.claim} claim is malformed`);
    }
    // Anything else comes from the proof too (jose's own errors, WebCrypto's for a key that does
    // not fit the alg or curve, a critical header, a payload that is not a JSON object).
    throw bad('dpop_jwk_invalid', 'the DPoP proof cannot be verified with its jwk');
  }
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
    throw bad('dpop_claim_invalid', 'the DPoP proof jti must be a string of 1 to 256 characters');
  }
  if (htm !== req.method) {
    throw bad('dpop_htm_mismatch', `the DPoP proof htm must be ${req.method}`);
  }
  if (typeof htu !== 'string' || !sameUri(htu, req.url)) {
    throw bad('dpop_htu_mismatch', `the DPoP proof htu must be ${withoutQuery(req.url)}`);
  }
  if (iat === undefined) {
    throw bad('dpop_claim_invalid', 'the DPoP proof must carry iat');
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw iatNotNumeric();
  const maxAge = req.maxAge ?? DPOP_PROOF_MAX_AGE;
  if (iat > req.now + req.clockSkew) {
    throw bad('dpop_iat_invalid', 'the DPoP proof iat is in the future');
  }
  if (iat < req.now - maxAge - req.clockSkew) {
    throw bad('dpop_iat_invalid', `the DPoP proof is older than ${maxAge} s: sign a fresh one`);
  }
  if (req.accessToken !== undefined) {
    const expected = createHash('sha256').update(req.accessToken, 'ascii').digest('base64url');
    if (ath !== expected) {
      throw bad('dpop_ath_mismatch', 'the DPoP proof ath is not the hash of the access token');
    }
  }
  if (req.nonces) {
    if (typeof nonce !== 'string' || !req.nonces.isValid(nonce)) {
      throw new UseDpopNonce({
        reason: nonce === undefined ? 'dpop_nonce_required' : 'dpop_nonce_invalid',
        description:
          nonce === undefined
            ? 'the DPoP proof must carry the server nonce given in the DPoP-Nonce header'
            : 'the DPoP proof nonce is not current: sign a new proof with the DPoP-Nonce header',
        nonce: req.nonces.current(),
      });
    }
  }
  return { jkt, jti, replayUntil: Math.ceil(iat) + maxAge + req.clockSkew };
}

const iatNotNumeric = () =>
  bad('dpop_iat_not_numeric', 'the DPoP proof iat must be a NumericDate (a number of seconds)');

/**
 * RFC 9449 §4.3 checks 4 and 5: a public key, no private member. jose refuses a private key too;
 * this says so in words and bounds RSA moduli and exponents (jws-verify.ts says why), so no proof
 * costs more than a 4,096-bit verification with a 32-bit exponent.
 */
function checkPublicJwk(jwk: unknown): void {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw bad('dpop_jwk_invalid', 'the DPoP proof must carry its public key as a jwk header');
  }
  const key = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => key[m] !== undefined)) {
    throw bad(
      'dpop_jwk_invalid',
      'the DPoP proof jwk must be a public key: it has private members',
    );
  }
  if (key.kty === 'RSA') {
    const n = key.n;
    if (typeof n !== 'string' || n.length < RSA_N_LENGTH.min || n.length > RSA_N_LENGTH.max) {
      throw bad('dpop_jwk_invalid', 'the DPoP proof RSA key must be 2048 to 4096 bits');
    }
    if (!jwkRsaExponentAcceptable(key.e)) {
      throw bad(
        'dpop_jwk_invalid',
        'the DPoP proof RSA key exponent must be odd, from 3 to 2^32 - 1 (65537 is usual)',
      );
    }
  }
}

function withoutQuery(uri: string): string {
  const u = new URL(uri);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * RFC 9449 §4.3 check 9: the same URI ignoring query and fragment, after the normalisation the
 * URL parser applies (case of scheme and host, default port, dot segments). No user information.
 */
function sameUri(htu: string, url: string): boolean {
  try {
    const u = new URL(htu);
    if (u.username !== '' || u.password !== '') return false;
    return withoutQuery(htu) === withoutQuery(url);
  } catch {
    return false;
  }
}

/** The RFC 9449 §4.1 `ath` of an access token: what a client puts in a resource proof. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}
