/**
 * RSA keys with a public exponent far past 32 bits, which node:crypto and WebCrypto will not
 * generate: a pooled key's primes, a random odd exponent of the size asked for, and the private
 * exponent and CRT values computed for it. What they sign is a real signature, which today's
 * libraries verify — slowly: each bit of the exponent is a modular squaring.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { rsaPrivateKey } from '../../support/test-keys.js';

export interface LargeExponentKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK (kty, n, e). */
  readonly publicJwk: JWK;
  /** Its RFC 7638 thumbprint. */
  readonly jkt: string;
  readonly e: bigint;
}

const toBigInt = (b64u: string) => BigInt(`0x${Buffer.from(b64u, 'base64url').toString('hex')}`);

function toB64u(value: bigint): string {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

/**
 * A 2,048-bit RSA key whose public exponent is a random odd number of `bits` bits, on the primes of
 * `from` (a pooled key unless given).
 */
export async function largeExponentKey(
  bits = 2000,
  from: KeyObject = rsaPrivateKey(),
): Promise<LargeExponentKey> {
  const base = from.export({ format: 'jwk' });
  const p = toBigInt(base.p!);
  const q = toBigInt(base.q!);
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  let e: bigint;
  do {
    e = toBigInt(randomBytes(Math.ceil(bits / 8)).toString('base64url'));
    e = (e >> BigInt(Math.ceil(bits / 8) * 8 - bits)) | (1n << BigInt(bits - 1)) | 1n;
  } while (gcd(e, lambda) !== 1n);
  const d = modInverse(e, lambda);
  const privateKey = createPrivateKey({
    key: {
      kty: 'RSA',
      n: base.n!,
      e: toB64u(e),
      d: toB64u(d),
      p: base.p!,
      q: base.q!,
      dp: toB64u(d % (p - 1n)),
      dq: toB64u(d % (q - 1n)),
      qi: base.qi!,
    },
    format: 'jwk',
  });
  const publicKey = createPublicKey(privateKey);
  const { kty, n, e: eJwk } = publicKey.export({ format: 'jwk' });
  const publicJwk: JWK = { kty: kty!, n: n!, e: eJwk! };
  return { privateKey, publicKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk), e };
}

/** A compact JWS over exactly this header and payload, RS256, signed with node:crypto. */
export function signRs256(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}
