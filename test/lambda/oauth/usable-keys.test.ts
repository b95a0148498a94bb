/**
 * Which keys of a JWKS may verify anything (JAG-SIGNATURE, AUTH-PRIVATE-KEY-JWT): one algorithm
 * per key, except that an Ed25519 key answers to both names of its algorithm (RFC 9864).
 */
import { exportJWK, generateKeyPair } from 'jose';
import { usableKeys } from '../../../lambda/oauth/usable-keys.js';

const publicJwk = async (alg: string, options: Record<string, unknown> = {}) =>
  exportJWK((await generateKeyPair(alg, { extractable: true, ...options })).publicKey);

test('an Ed25519 key registered as EdDSA also verifies what is signed as Ed25519, and back', async () => {
  const jwk = await publicJwk('Ed25519');
  for (const alg of ['EdDSA', 'Ed25519']) {
    const keys = await usableKeys({ keys: [{ ...jwk, alg }] }, ['EdDSA', 'Ed25519', 'ES256'], 8);
    expect(keys.map((k) => k.alg).sort()).toEqual(['Ed25519', 'EdDSA']);
  }
  // Without alg, the two names are one algorithm, not a choice.
  const bare = await usableKeys({ keys: [jwk] }, ['EdDSA', 'Ed25519'], 8);
  expect(bare.map((k) => k.alg).sort()).toEqual(['Ed25519', 'EdDSA']);
});

test('only the accepted names: an issuer that allows EdDSA alone gets EdDSA alone', async () => {
  const jwk = await publicJwk('Ed25519');
  const keys = await usableKeys({ keys: [{ ...jwk, alg: 'EdDSA' }] }, ['EdDSA'], 8);
  expect(keys.map((k) => k.alg)).toEqual(['EdDSA']);
});

test('any other key keeps exactly one algorithm, and one without alg among several is dropped', async () => {
  const rsa = await publicJwk('PS256', { modulusLength: 2048 });
  expect(
    (await usableKeys({ keys: [{ ...rsa, alg: 'PS256' }] }, ['RS256', 'PS256'], 8)).map(
      (k) => k.alg,
    ),
  ).toEqual(['PS256']);
  expect(await usableKeys({ keys: [rsa] }, ['RS256', 'PS256'], 8)).toEqual([]);
});
