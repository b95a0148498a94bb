/**
 * Which keys of a published JWKS may verify anything here (JAG-SIGNATURE, AUTH-PRIVATE-KEY-JWT):
 * the same hygiene for an IdP's keys, a client's fetched keys and a client's registered ones.
 */
import { importJWK, type JWK } from 'jose';
import { jwkRsaExponentAcceptable } from './jws-verify.js';

/** Which key types each accepted JWS algorithm verifies with. */
const ALG_KEY: Readonly<Record<string, { kty: string; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
};

const fits = (alg: string, jwk: JWK): boolean => {
  const want = ALG_KEY[alg];
  return !!want && want.kty === jwk.kty && (!want.crv || want.crv === jwk.crv);
};

/**
 * The keys of a fetched JWKS that can verify an assertion, each pinned to one algorithm (RFC 8725
 * §3.1: one key, one algorithm). A key without `alg` is pinned to the issuer's only accepted
 * algorithm for its type, and dropped when there are several to choose from. Each key is imported
 * here, once per fetch, so a malformed key (an off-curve point, a truncated modulus, an RSA
 * exponent out of bounds) is dropped instead of failing a request later. A set that is not a JWKS,
 * or has more than `maxKeys` keys, is refused whole.
 */
export async function usableKeys(
  body: unknown,
  algorithms: readonly string[],
  maxKeys: number,
  /** The algorithm an RSA key without `alg` is pinned to when several would fit. */
  defaults: { readonly rsaWithoutAlg?: string } = {},
): Promise<JWK[]> {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('JWKS has no "keys" array');
  if (keys.length > maxKeys) throw new Error(`JWKS has ${keys.length} keys, more than ${maxKeys}`);
  const usable: JWK[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) continue;
    // Only the members a public key is made of: nothing else of a fetched key (an x5c chain, a
    // padding member) is kept in memory for as long as the set is cached.
    const jwk = publicMembers(key as JWK);
    // A private key published by mistake is not used: only public members are read.
    if (jwk.d !== undefined) continue;
    // JAG-SIGNATURE: an RSA exponent past 32 bits would make every verification with the key
    // cost many times a normal one (jws-verify.ts checks it again, whatever the resolver).
    if (jwk.kty === 'RSA' && !jwkRsaExponentAcceptable(jwk.e)) continue;
    const candidates = algorithms.filter((alg) => fits(alg, jwk));
    // RFC 9864: EdDSA with an Ed25519 key is the algorithm Ed25519, under its older name. Signers
    // differ in which name they write (oauth4webapi writes Ed25519), so such a key answers to both.
    const names = candidates.filter((a) => ED25519_NAMES.includes(a));
    const ed25519 = jwk.crv === 'Ed25519' && names.length === 2;
    const alg =
      jwk.alg ??
      (candidates.length === 1 || (ed25519 && candidates.length === 2)
        ? candidates[0]
        : jwk.kty === 'RSA' && candidates.includes(defaults.rsaWithoutAlg ?? '')
          ? defaults.rsaWithoutAlg
          : undefined);
    if (alg === undefined || !candidates.includes(alg)) continue;
    try {
      await importJWK({ ...jwk, alg }, alg);
    } catch {
      continue;
    }
    for (const name of ed25519 && names.includes(alg) ? names : [alg])
      usable.push({ ...jwk, alg: name });
  }
  return usable;
}

const ED25519_NAMES: readonly string[] = ['EdDSA', 'Ed25519'];

const PUBLIC_MEMBERS = ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y', 'n', 'e', 'd'] as const;

/** The members of a public key (and `d`, so that a private key is still recognised and refused). */
function publicMembers(jwk: JWK): JWK {
  const kept: Record<string, unknown> = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) kept[m] = jwk[m];
  return kept as JWK;
}
