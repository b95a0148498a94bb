/**
 * The wrapped-key signing mode: the RSA private key is made at deploy time, encrypted (wrapped)
 * under a symmetric KMS key, and kept only as ciphertext in a Secrets Manager secret. Both halves
 * of the mode share what is here: the encryption context that names the key's purpose and
 * identity, and the secret's format.
 *
 * The encryption context is bound into the ciphertext (AES-GCM additional data): a Decrypt
 * succeeds only with the same context, and the key policy lets the token role decrypt only with
 * it, so this ciphertext cannot be decrypted as anything else, nor another ciphertext as this.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { PublishedJwk } from '../cdk-shared/published-jwks.js';
import { WRAPPED_KEY_FORMAT, WRAPPED_KEY_SPEC } from '../cdk-shared/wrapped-key-context.js';

export {
  encryptionContext,
  WRAPPED_KEY_FORMAT,
  WRAPPED_KEY_PURPOSE,
  WRAPPED_KEY_SPEC,
  type EncryptionContext,
} from '../cdk-shared/wrapped-key-context.js';

/** The secret's value (SecretString, JSON): everything but the ciphertext is public. */
export interface WrappedKeySecret {
  readonly format: typeof WRAPPED_KEY_FORMAT;
  readonly keySpec: typeof WRAPPED_KEY_SPEC;
  readonly keyName: string;
  readonly wrappingKeyArn: string;
  readonly publicJwk: PublishedJwk;
  /** base64 of KMS Encrypt's CiphertextBlob over the PKCS#8 DER private key. */
  readonly ciphertext: string;
}

export class WrappedKeyFormatError extends Error {
  constructor(problem: string) {
    super(`wrapped signing key: ${problem}`);
    this.name = 'WrappedKeyFormatError';
  }
}

export function parseWrappedKeySecret(text: string | undefined): WrappedKeySecret {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new WrappedKeyFormatError('the secret is not JSON');
  }
  const v = value as Partial<WrappedKeySecret> | null;
  if (v?.format !== WRAPPED_KEY_FORMAT)
    throw new WrappedKeyFormatError(`the secret's format is not ${WRAPPED_KEY_FORMAT}`);
  if (v.keySpec !== WRAPPED_KEY_SPEC)
    throw new WrappedKeyFormatError(`key spec ${String(v.keySpec)} is not ${WRAPPED_KEY_SPEC}`);
  for (const member of ['keyName', 'wrappingKeyArn', 'ciphertext'] as const)
    if (typeof v[member] !== 'string' || v[member].length === 0)
      throw new WrappedKeyFormatError(`the secret has no ${member}`);
  if (typeof v.publicJwk?.kid !== 'string')
    throw new WrappedKeyFormatError('the secret has no public key');
  return v as WrappedKeySecret;
}

/** The public half as the JWKS publishes it, kid = RFC 7638 thumbprint (JWKS-KID). */
export async function publicJwkOf(key: KeyObject): Promise<PublishedJwk> {
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (!n || !e) throw new WrappedKeyFormatError('not an RSA key');
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n, e }, 'sha256');
  return { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' };
}
