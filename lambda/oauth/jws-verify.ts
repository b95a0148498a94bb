/**
 * Verifying a compact JWS signature on the calling thread. jose picks the key (the issuer's JWKS,
 * by kid and alg); node:crypto checks the signature synchronously. Through WebCrypto each
 * verification is a round trip to libuv's thread pool that costs four times the RSA arithmetic
 * itself, and on Lambda there is no other request to run meanwhile.
 */
import { quote } from './quote.js';
import { KeyObject, constants, verify, type VerifyKeyObjectInput } from 'node:crypto';
import type { JWSHeaderParameters } from 'jose';
import type { KeyResolver } from '../ports.js';

/** Why a signature was not accepted: each maps to invalid_grant with this message. */
export class SignatureRejected extends Error {}

type Params = {
  hash: string | null;
  key: Omit<VerifyKeyObjectInput, 'key'>;
  keyType: readonly string[];
  curve?: string;
};

const RSA_PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
};
const ALGORITHMS: Readonly<Record<string, Params>> = {
  RS256: { hash: 'sha256', key: {}, keyType: ['rsa'] },
  RS384: { hash: 'sha384', key: {}, keyType: ['rsa'] },
  RS512: { hash: 'sha512', key: {}, keyType: ['rsa'] },
  PS256: { hash: 'sha256', key: RSA_PSS, keyType: ['rsa', 'rsa-pss'] },
  PS384: { hash: 'sha384', key: RSA_PSS, keyType: ['rsa', 'rsa-pss'] },
  PS512: { hash: 'sha512', key: RSA_PSS, keyType: ['rsa', 'rsa-pss'] },
  // JWS carries ECDSA signatures as r || s (RFC 7518 §3.4), not DER.
  ES256: {
    hash: 'sha256',
    key: { dsaEncoding: 'ieee-p1363' },
    keyType: ['ec'],
    curve: 'prime256v1',
  },
  ES384: {
    hash: 'sha384',
    key: { dsaEncoding: 'ieee-p1363' },
    keyType: ['ec'],
    curve: 'secp384r1',
  },
  ES512: {
    hash: 'sha512',
    key: { dsaEncoding: 'ieee-p1363' },
    keyType: ['ec'],
    curve: 'secp521r1',
  },
  EdDSA: { hash: null, key: {}, keyType: ['ed25519', 'ed448'] },
  Ed25519: { hash: null, key: {}, keyType: ['ed25519'] },
};

const keyObjects = new WeakMap<object, KeyObject>();

function toKeyObject(key: unknown): KeyObject {
  if (key instanceof KeyObject) return key;
  if (key instanceof Uint8Array || typeof key !== 'object' || key === null) {
    throw new SignatureRejected('the key for this assertion is not an asymmetric public key');
  }
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

/**
 * Verifies `jws` (already split into three base64url parts) as signed with `header.alg` by the key
 * `resolve` picks. The caller has already checked that alg is on the issuer's allow-list.
 */
export async function verifyCompactSignature(
  jws: string,
  header: JWSHeaderParameters,
  resolve: KeyResolver,
): Promise<void> {
  // No JWS extension is understood here (RFC 7515 §4.1.11): an assertion that needs one is refused.
  if (header.crit !== undefined)
    throw new SignatureRejected(
      'the assertion has critical header parameters this server does not understand',
    );
  if (header.b64 !== undefined)
    throw new SignatureRejected('unencoded payloads (b64) are not accepted');
  const params = ALGORITHMS[header.alg ?? ''];
  if (!params)
    throw new SignatureRejected(`alg ${quote(header.alg)} is not a supported asymmetric algorithm`);
  const dot = jws.lastIndexOf('.');
  const [protectedHeader, payload] = jws.slice(0, dot).split('.') as [string, string];
  const signature = Buffer.from(jws.slice(dot + 1), 'base64url');
  const key = toKeyObject(
    await resolve(header, { protected: protectedHeader, payload, signature: jws.slice(dot + 1) }),
  );

  if (key.type !== 'public' || !params.keyType.includes(key.asymmetricKeyType ?? '')) {
    throw new SignatureRejected(`the issuer's key does not fit alg ${header.alg}`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (params.curve && details.namedCurve !== params.curve)
    throw new SignatureRejected(`the issuer's key does not fit alg ${header.alg}`);
  if (params.keyType[0] === 'rsa' && (details.modulusLength ?? 0) < 2048) {
    throw new SignatureRejected("the issuer's RSA key is shorter than 2048 bits");
  }
  if (
    !verify(params.hash, Buffer.from(jws.slice(0, dot), 'ascii'), { key, ...params.key }, signature)
  ) {
    throw new SignatureRejected('assertion signature does not verify');
  }
}
