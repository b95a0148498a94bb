/** The synchronous JWS signature check: every asymmetric JOSE algorithm, and every mismatch refused. */
import { generateKeyPairSync, sign } from 'node:crypto';
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { SignatureRejected, verifyCompactSignature } from '../../../lambda/oauth/jws-verify.js';

async function signed(alg: string, options: Record<string, unknown> = {}) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...options });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg };
  const jws = await new CompactSign(new TextEncoder().encode('{"iss":"x"}'))
    .setProtectedHeader({ alg, kid: 'k' })
    .sign(privateKey);
  return { jws, jwk, resolve: createLocalJWKSet({ keys: [jwk] }) };
}
const header = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString());

test.each([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])('%s: a good signature verifies, a tampered one does not', async (alg) => {
  const { jws, resolve } = await signed(alg);
  await expect(verifyCompactSignature(jws, header(jws), resolve)).resolves.toBeUndefined();
  const [h, p, s] = jws.split('.');
  const tampered = `${h}.${Buffer.from('{"iss":"y"}').toString('base64url')}.${s}`;
  await expect(verifyCompactSignature(tampered, header(jws), resolve)).rejects.toThrow(
    /signature does not verify/,
  );
  expect(p).toBeDefined();
});

test('a header alg that does not fit the key is refused (ES256 claimed, RSA key under that kid)', async () => {
  const { jws, jwk } = await signed('RS256');
  const resolve = async () =>
    await createLocalJWKSet({ keys: [{ ...jwk, alg: 'RS256' }] })(
      { alg: 'RS256', kid: 'k' },
      { payload: '', signature: '', protected: '' },
    );
  await expect(
    verifyCompactSignature(jws, { ...header(jws), alg: 'ES256' }, resolve),
  ).rejects.toThrow(/does not fit alg ES256/);
});

test('ES256 claimed with a P-384 key is refused', async () => {
  const { jws, jwk } = await signed('ES384');
  const resolve = async () =>
    await createLocalJWKSet({ keys: [jwk] })(
      { alg: 'ES384', kid: 'k' },
      { payload: '', signature: '', protected: '' },
    );
  await expect(
    verifyCompactSignature(jws, { ...header(jws), alg: 'ES256' }, resolve),
  ).rejects.toThrow(/does not fit/);
});

test('an RSA key under 2048 bits is refused', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  // jose will not sign with it; node:crypto will.
  const input = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}`;
  const jws = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  await expect(verifyCompactSignature(jws, header(jws), async () => publicKey)).rejects.toThrow(
    /shorter than 2048/,
  );
});

test.each([
  ['a symmetric key', async () => new Uint8Array(32)],
  ['a private key', async () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
])('%s is never a verification key', async (_name, resolve) => {
  const { jws } = await signed('RS256');
  await expect(verifyCompactSignature(jws, header(jws), resolve)).rejects.toBeInstanceOf(
    SignatureRejected,
  );
});

test.each([
  ['crit', { crit: ['exp'] }],
  ['b64', { b64: false }],
  ['HS256', { alg: 'HS256' }],
  ['none', { alg: 'none' }],
])('a header with %s is refused before any key is looked up', async (_name, extra) => {
  const { jws, resolve } = await signed('RS256');
  let looked = false;
  await expect(
    verifyCompactSignature(
      jws,
      { ...header(jws), ...extra },
      async (h, t) => ((looked = true), resolve(h, t)),
    ),
  ).rejects.toBeInstanceOf(SignatureRejected);
  expect(looked).toBe(false);
});
