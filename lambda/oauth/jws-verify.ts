/**
 * Verifying an ID-JAG's compact JWS signature on the calling thread, with node:crypto.
 *
 * jose (whose resolver still picks the issuer's key, by kid and alg) verifies through WebCrypto: a
 * promise, WebIDL conversions and a round trip to libuv's thread pool for an RSA check of a few
 * tens of microseconds, queued behind the local server's signatures, so this check is done here
 * (docs/architecture.md says why; docs/performance.md has the figures).
 * What jose's compactVerify enforces is enforced here, each with a test that signs real bytes: the
 * issuer's alg allow-list before any key is looked up, no `crit` (no extension is understood), no
 * RFC 7797 `b64`, a public key only (never a secret or a private key) of the alg's type and
 * curve, a WebCrypto key only for the algorithm and use it was imported for, RSA of at least
 * 2048 bits with a bounded public exponent, ECDSA signatures as r || s (RFC 7518 §3.4), and a
 * signature in canonical base64url.
 *
 * One spelling per signature, except ECDSA's: an RSA signature must be exactly as long as the
 * modulus (RFC 8017 §8.1.2, §8.2.2: OpenSSL accepts a PSS signature with its leading zero bytes
 * dropped), and Ed25519's `s` must be canonical (OpenSSL checks it). ECDSA's `(r, s)` and
 * `(r, n − s)` both verify, and refusing either half would refuse about half of the signatures
 * honest signers make (OpenSSL and WebCrypto do not normalise `s`), so both are accepted. Nothing
 * is keyed on an assertion's bytes: single use is keyed on `iss` and `jti` (JAG-REPLAY).
 */
import { KeyObject, constants, verify, type VerifyKeyObjectInput } from 'node:crypto';
import type { CryptoKey, JWSHeaderParameters } from 'jose';
import type { KeyResolver } from '../ports.js';
import { quote } from './quote.js';

/**
 * What kind of refusal a SignatureRejected is, for callers to branch on rather than read the
 * message (as jose's and oauth4webapi's errors carry a `code`).
 */
export type SignatureRefusal =
  /** Not a compact JWS, or a header that is not a JSON object. */
  | 'jws_malformed'
  /** A signature spelled otherwise than its one canonical form (base64url, RSA length). */
  | 'signature_encoding'
  /** A header parameter this verifier does not implement (`crit`, `b64`). */
  | 'header_unsupported'
  /** An alg not in the issuer's allow-list. */
  | 'alg_not_accepted'
  /** A key that is not a public key fit for the alg (type, curve, size, exponent, usage). */
  | 'key_unsuitable'
  /** A well-formed signature that does not verify with the issuer's key. */
  | 'signature_mismatch';

/** Why a signature was not accepted: each maps to invalid_grant with this message. */
export class SignatureRejected extends Error {
  constructor(
    readonly code: SignatureRefusal,
    message: string,
  ) {
    super(message);
  }
}

interface AlgorithmParams {
  /** The digest, or null for EdDSA (which hashes inside the signature scheme). */
  readonly hash: string | null;
  /** Padding and signature encoding for node:crypto's verify. */
  readonly options: Omit<VerifyKeyObjectInput, 'key'>;
  /** node:crypto's asymmetricKeyType the alg is verified with. */
  readonly keyType: 'rsa' | 'ec' | 'ed25519';
  readonly curve?: string;
  /** What a WebCrypto key must have been imported for (jose's checkCryptoKey checks the same). */
  readonly webCrypto: { readonly name: string; readonly hash?: string; readonly curve?: string };
}

const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
};
const P1363 = { dsaEncoding: 'ieee-p1363' } as const;

const rs = (bits: 256 | 384 | 512): AlgorithmParams => ({
  hash: `sha${bits}`,
  options: {},
  keyType: 'rsa',
  webCrypto: { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${bits}` },
});
// An 'rsa' key only, not node:crypto's 'rsa-pss' type, whose own parameters (MGF1 hash, salt)
// could differ from what RFC 7518 §3.5 fixes for the alg.
const ps = (bits: 256 | 384 | 512): AlgorithmParams => ({
  hash: `sha${bits}`,
  options: PSS,
  keyType: 'rsa',
  webCrypto: { name: 'RSA-PSS', hash: `SHA-${bits}` },
});
const es = (bits: 256 | 384 | 512, curve: string, jwkCurve: string): AlgorithmParams => ({
  hash: `sha${bits}`,
  options: P1363,
  keyType: 'ec',
  curve,
  webCrypto: { name: 'ECDSA', curve: jwkCurve },
});
// EdDSA means Ed25519 here, as in jose 6 (Ed448 keys are not imported at all).
const ed: AlgorithmParams = {
  hash: null,
  options: {},
  keyType: 'ed25519',
  webCrypto: { name: 'Ed25519' },
};

/** No prototype: an alg named like an Object.prototype member finds nothing. */
const ALGORITHMS: Readonly<Record<string, AlgorithmParams>> = Object.assign(Object.create(null), {
  RS256: rs(256),
  RS384: rs(384),
  RS512: rs(512),
  PS256: ps(256),
  PS384: ps(384),
  PS512: ps(512),
  ES256: es(256, 'prime256v1', 'P-256'),
  ES384: es(384, 'secp384r1', 'P-384'),
  ES512: es(512, 'secp521r1', 'P-521'),
  EdDSA: ed,
  Ed25519: ed,
});

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The RSA public exponents accepted wherever an RSA key is (ID-JAG keys here and in the issuer's
 * JWKS, DPoP proof keys): odd, 3 to 2^32 − 1. Verifying costs a modular squaring per bit of `e`,
 * so a 3,071-bit exponent makes one signature cost more than the 16,384-bit modulus the size
 * bounds exist to refuse. Real keys use 65537 (some 3), a 32-bit exponent costs at most about
 * twice as much, and common RSA implementations refuse exponents much past 32 bits as well.
 */
export function rsaExponentAcceptable(e: bigint): boolean {
  return e >= 3n && e <= 0xffff_ffffn && (e & 1n) === 1n;
}

/**
 * The same bound on a JWK's `e` (RFC 7518 §6.3.1.2: big-endian, minimal, base64url), checked on
 * its length before anything is decoded: at most 4 bytes is at most 6 characters.
 */
export function jwkRsaExponentAcceptable(e: unknown): boolean {
  if (typeof e !== 'string' || !/^[A-Za-z0-9_-]{2,6}$/.test(e)) return false;
  const bytes = Buffer.from(e, 'base64url');
  return bytes[0] !== 0 && rsaExponentAcceptable(BigInt(`0x${bytes.toString('hex')}`));
}

/** The KeyObject behind each CryptoKey the resolver hands out (jose caches those per JWK). */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * A WebCrypto key carries what it was imported for; the KeyObject made from it does not. So the
 * key's algorithm, hash, curve and usages are checked against the alg first: one key, one
 * algorithm (RFC 8725 §3.1), whatever the resolver.
 */
function checkCryptoKeyFits(key: CryptoKey, alg: string, params: AlgorithmParams): void {
  const algorithm = key.algorithm as {
    name?: string;
    hash?: { name?: string };
    namedCurve?: string;
  };
  const { name, hash, curve } = params.webCrypto;
  if (
    algorithm.name !== name ||
    (hash !== undefined && algorithm.hash?.name !== hash) ||
    (curve !== undefined && algorithm.namedCurve !== curve) ||
    !key.usages.includes('verify')
  ) {
    throw new SignatureRejected('key_unsuitable', `the issuer's key was not made for alg ${alg}`);
  }
}

/** WebCrypto's CryptoKey class: global in Node.js (and what jose's key sets hand out). */
const isCryptoKey = (key: unknown): key is CryptoKey =>
  key instanceof (globalThis as unknown as { CryptoKey: new () => CryptoKey }).CryptoKey;

function toPublicKeyObject(key: unknown, alg: string, params: AlgorithmParams): KeyObject {
  let keyObject: KeyObject | undefined;
  if (key instanceof KeyObject) keyObject = key;
  else if (isCryptoKey(key)) {
    checkCryptoKeyFits(key, alg, params);
    keyObject = keyObjects.get(key);
    if (!keyObject) {
      keyObject = KeyObject.from(key);
      keyObjects.set(key, keyObject);
    }
  }
  if (keyObject?.type !== 'public') {
    throw new SignatureRejected(
      'key_unsuitable',
      'the key for this assertion is not an asymmetric public key',
    );
  }
  return keyObject;
}

function checkKeyFits(key: KeyObject, alg: string, params: AlgorithmParams): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (
    key.asymmetricKeyType !== params.keyType ||
    (params.curve !== undefined && details.namedCurve !== params.curve)
  ) {
    throw new SignatureRejected('key_unsuitable', `the issuer's key does not fit alg ${alg}`);
  }
  if (params.keyType === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) {
      throw new SignatureRejected(
        'key_unsuitable',
        "the issuer's RSA key is shorter than 2048 bits",
      );
    }
    if (!rsaExponentAcceptable(details.publicExponent ?? 0n)) {
      throw new SignatureRejected(
        'key_unsuitable',
        "the issuer's RSA key has a public exponent outside 3 to 2^32 − 1 (odd)",
      );
    }
  }
}

function parseHeader(segment: string): JWSHeaderParameters {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    header = undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SignatureRejected('jws_malformed', 'the JWS header is not a JSON object');
  }
  return header as JWSHeaderParameters;
}

/** Verifies `jws` as signed, with one of `algorithms`, by the key `resolve` picks. */
export async function verifyCompactSignature(
  jws: string,
  resolve: KeyResolver,
  algorithms: readonly string[],
): Promise<void> {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new SignatureRejected('jws_malformed', 'not a compact JWS (three base64url parts)');
  }
  const [protectedHeader, payload, signature] = parts as [string, string, string];
  // One signature, one spelling: base64url has spare bits and Buffer ignores a dangling last
  // character, so a non-canonical encoding would make a second valid string of the same token.
  const signatureBytes = Buffer.from(signature, 'base64url');
  if (signatureBytes.toString('base64url') !== signature) {
    throw new SignatureRejected('signature_encoding', 'the signature is not canonical base64url');
  }
  const header = parseHeader(protectedHeader);
  // No JWS extension is understood here (RFC 7515 §4.1.11), and the claims are read from the
  // base64url payload, so an unencoded one (RFC 7797) is refused too: before any key is looked up.
  if (header.crit !== undefined) {
    throw new SignatureRejected(
      'header_unsupported',
      'the assertion has critical header parameters this server does not understand',
    );
  }
  if (header.b64 !== undefined) {
    throw new SignatureRejected('header_unsupported', 'unencoded payloads (b64) are not accepted');
  }
  const alg = header.alg;
  const params = typeof alg === 'string' && algorithms.includes(alg) ? ALGORITHMS[alg] : undefined;
  if (alg === undefined || params === undefined) {
    throw new SignatureRejected(
      'alg_not_accepted',
      `alg ${quote(alg)} is not accepted from this issuer`,
    );
  }
  const key = toPublicKeyObject(
    await resolve(header, { protected: protectedHeader, payload, signature }),
    alg,
    params,
  );
  checkKeyFits(key, alg, params);
  if (
    params.keyType === 'rsa' &&
    signatureBytes.length !== Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
  ) {
    throw new SignatureRejected(
      'signature_encoding',
      'the RSA signature is not as long as the modulus',
    );
  }
  let valid = false;
  try {
    valid = verify(
      params.hash,
      Buffer.from(`${protectedHeader}.${payload}`, 'ascii'),
      { key, ...params.options },
      signatureBytes,
    );
  } catch {
    // A key node:crypto will not use with these parameters: not a signature we can accept.
  }
  if (!valid)
    throw new SignatureRejected('signature_mismatch', 'assertion signature does not verify');
}
