/**
 * Verifying an ID-JAG's compact JWS signature on the calling thread, with node:crypto.
 *
 * jose (whose resolver still picks the issuer's key, by kid and alg) verifies through WebCrypto: a
 * promise, WebIDL conversions and a round trip to libuv's thread pool for a 30 µs RSA check. On
 * the local server under load that round trip cost about 0.25 ms of CPU per token, a third of
 * everything a token costs, so this check is done here (docs/architecture.md has the figures).
 * What jose's compactVerify enforced is enforced here, each with a test that signs real bytes: the
 * issuer's alg allow-list before any key is looked up, no `crit` (no extension is understood), no
 * RFC 7797 `b64`, a public key only (never a secret or a private key) of the alg's type and
 * curve, RSA of at least 2048 bits, and ECDSA signatures as r || s (RFC 7518 §3.4).
 */
import { KeyObject, constants, verify, type VerifyKeyObjectInput } from 'node:crypto';
import type { JWSHeaderParameters } from 'jose';
import type { KeyResolver } from '../ports.js';
import { quote } from './quote.js';

/** Why a signature was not accepted: each maps to invalid_grant with this message. */
export class SignatureRejected extends Error {}

interface AlgorithmParams {
  /** The digest, or null for EdDSA (which hashes inside the signature scheme). */
  readonly hash: string | null;
  /** Padding and signature encoding for node:crypto's verify. */
  readonly options: Omit<VerifyKeyObjectInput, 'key'>;
  /** node:crypto's asymmetricKeyType values the alg may be verified with. */
  readonly keyTypes: readonly string[];
  readonly curve?: string;
}

const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
};
const P1363 = { dsaEncoding: 'ieee-p1363' } as const;

const ALGORITHMS: Readonly<Record<string, AlgorithmParams>> = {
  RS256: { hash: 'sha256', options: {}, keyTypes: ['rsa'] },
  RS384: { hash: 'sha384', options: {}, keyTypes: ['rsa'] },
  RS512: { hash: 'sha512', options: {}, keyTypes: ['rsa'] },
  PS256: { hash: 'sha256', options: PSS, keyTypes: ['rsa', 'rsa-pss'] },
  PS384: { hash: 'sha384', options: PSS, keyTypes: ['rsa', 'rsa-pss'] },
  PS512: { hash: 'sha512', options: PSS, keyTypes: ['rsa', 'rsa-pss'] },
  ES256: { hash: 'sha256', options: P1363, keyTypes: ['ec'], curve: 'prime256v1' },
  ES384: { hash: 'sha384', options: P1363, keyTypes: ['ec'], curve: 'secp384r1' },
  ES512: { hash: 'sha512', options: P1363, keyTypes: ['ec'], curve: 'secp521r1' },
  EdDSA: { hash: null, options: {}, keyTypes: ['ed25519', 'ed448'] },
  Ed25519: { hash: null, options: {}, keyTypes: ['ed25519'] },
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The KeyObject behind each CryptoKey the resolver hands out (jose caches those per JWK). */
const keyObjects = new WeakMap<object, KeyObject>();

function toPublicKeyObject(key: unknown): KeyObject {
  let keyObject: KeyObject | undefined;
  if (key instanceof KeyObject) keyObject = key;
  else if (typeof key === 'object' && key !== null && !(key instanceof Uint8Array)) {
    keyObject = keyObjects.get(key);
    if (!keyObject) {
      try {
        keyObject = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
      } catch {
        keyObject = undefined;
      }
      if (keyObject) keyObjects.set(key, keyObject);
    }
  }
  if (keyObject?.type !== 'public') {
    throw new SignatureRejected('the key for this assertion is not an asymmetric public key');
  }
  return keyObject;
}

function checkKeyFits(key: KeyObject, alg: string, params: AlgorithmParams): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (
    !params.keyTypes.includes(key.asymmetricKeyType ?? '') ||
    (params.curve !== undefined && details.namedCurve !== params.curve)
  ) {
    throw new SignatureRejected(`the issuer's key does not fit alg ${alg}`);
  }
  if (params.keyTypes[0] === 'rsa' && (details.modulusLength ?? 0) < 2048) {
    throw new SignatureRejected("the issuer's RSA key is shorter than 2048 bits");
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
    throw new SignatureRejected('the JWS header is not a JSON object');
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
    throw new SignatureRejected('not a compact JWS (three base64url parts)');
  }
  const [protectedHeader, payload, signature] = parts as [string, string, string];
  const header = parseHeader(protectedHeader);
  // No JWS extension is understood here (RFC 7515 §4.1.11), and the claims are read from the
  // base64url payload, so an unencoded one (RFC 7797) is refused too: before any key is looked up.
  if (header.crit !== undefined) {
    throw new SignatureRejected(
      'the assertion has critical header parameters this server does not understand',
    );
  }
  if (header.b64 !== undefined) {
    throw new SignatureRejected('unencoded payloads (b64) are not accepted');
  }
  const alg = header.alg;
  const params = typeof alg === 'string' && algorithms.includes(alg) ? ALGORITHMS[alg] : undefined;
  if (alg === undefined || params === undefined) {
    throw new SignatureRejected(`alg ${quote(alg)} is not accepted from this issuer`);
  }
  const key = toPublicKeyObject(
    await resolve(header, { protected: protectedHeader, payload, signature }),
  );
  checkKeyFits(key, alg, params);
  let valid = false;
  try {
    valid = verify(
      params.hash,
      Buffer.from(`${protectedHeader}.${payload}`, 'ascii'),
      { key, ...params.options },
      Buffer.from(signature, 'base64url'),
    );
  } catch {
    // e.g. an RSA-PSS key whose parameters forbid this digest: not a signature we can accept.
  }
  if (!valid) throw new SignatureRejected('assertion signature does not verify');
}
