/**
 * A KMS signing key's public half as a JWK (JWKS-KID): GetPublicKey returns DER SubjectPublicKeyInfo,
 * which becomes {kty, n, e} with the RFC 7638 thumbprint as `kid`, so anyone can derive the kid.
 */
import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, type JWK } from 'jose';

import { KMS_SIGNING_ALGORITHM } from '../cdk-shared/kms-signing-algorithm.js';

export { KMS_SIGNING_ALGORITHM };

export type PublicJwk = JWK & {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
};

/** A listed key that cannot sign RS256 is a deployment mistake: say which key and why. */
export class UnusableSigningKey extends Error {
  constructor(keyId: string, problem: string) {
    super(`KMS key ${keyId} ${problem}`);
    this.name = 'UnusableSigningKey';
  }
}

export async function kmsPublicJwk(kms: KMSClient, keyId: string): Promise<PublicJwk> {
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (out.KeyUsage !== 'SIGN_VERIFY')
    throw new UnusableSigningKey(keyId, `has KeyUsage ${out.KeyUsage}, not SIGN_VERIFY`);
  if (!out.SigningAlgorithms?.includes(KMS_SIGNING_ALGORITHM)) {
    throw new UnusableSigningKey(keyId, `cannot sign with ${KMS_SIGNING_ALGORITHM}`);
  }
  if (!out.PublicKey) throw new UnusableSigningKey(keyId, 'returned no public key');
  const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
  // Checked on the key itself rather than KeySpec, which not every KMS implementation returns.
  if (key.asymmetricKeyType !== 'rsa')
    throw new UnusableSigningKey(keyId, `is ${key.asymmetricKeyType}, not RSA`);
  const { n, e } = key.export({ format: 'jwk' });
  if (!n || !e) throw new UnusableSigningKey(keyId, 'has no RSA modulus or exponent');
  const publicJwk = { kty: 'RSA' as const, n, e };
  return {
    ...publicJwk,
    kid: await calculateJwkThumbprint(publicJwk, 'sha256'),
    alg: 'RS256',
    use: 'sig',
  };
}
