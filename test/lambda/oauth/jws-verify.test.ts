/** The ID-JAG signature check: every asymmetric alg verifies, every mismatch is refused. */
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  CompactSign,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import {
  jwkRsaExponentAcceptable,
  rsaExponentAcceptable,
  SignatureRejected,
  verifyCompactSignature,
  type SignatureRefusal,
} from '../../../lambda/oauth/jws-verify.js';
import { ASYMMETRIC_ALGORITHMS } from '../../../lambda/config.js';
import type { KeyResolver } from '../../../lambda/ports.js';
import { rsaPrivateKey } from '../../support/test-keys.js';
import { largeExponentKey } from './rsa-exponent-keys.js';

/** An RSA-2048 pair from the test key pool: generating one costs about 0.15 s of CPU. */
function rsaPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = rsaPrivateKey();
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

async function signed(alg: string) {
  const { privateKey, publicKey } = /^[RP]S/.test(alg)
    ? rsaPair()
    : await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg };
  const jws = await new CompactSign(new TextEncoder().encode('{"iss":"x"}'))
    .setProtectedHeader({ alg, kid: 'k' })
    .sign(privateKey);
  return { jws, jwk, resolve: createLocalJWKSet({ keys: [jwk] }) };
}

const b64u = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS with any header, signed RS256 by `key` over exactly `<header>.<payload>`. */
function rawRs256(header: Record<string, unknown>, payload: string, key: KeyObject): string {
  const input = `${b64u(header)}.${payload}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** An issuer with one RSA key under kid "k", and a resolver that records whether it was asked. */
async function rsaIssuer() {
  const { privateKey, publicKey } = rsaPair();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256' };
  const set = createLocalJWKSet({ keys: [jwk] });
  const seen = { lookedUp: false };
  const resolve: KeyResolver = async (h, t) => ((seen.lookedUp = true), await set(h, t));
  return { privateKey, publicKey, resolve, seen };
}

/** A refusal the token handler turns into invalid_grant (id-jag.ts), never a 500. */
async function expectRefused(promise: Promise<unknown>, message?: RegExp, code?: SignatureRefusal) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SignatureRejected);
  if (message) expect((err as Error).message).toMatch(message);
  if (code) expect((err as SignatureRejected).code).toBe(code);
}

// Every algorithm an issuer can be configured with (lambda/config.ts).
test.each([...ASYMMETRIC_ALGORITHMS])(
  '%s: a good signature verifies, a tampered one does not',
  async (alg) => {
    const { jws, resolve } = await signed(alg);
    await expect(verifyCompactSignature(jws, resolve, [alg])).resolves.toBeUndefined();
    const [h, , s] = jws.split('.');
    const tampered = `${h}.${b64u('{"iss":"y"}')}.${s}`;
    await expectRefused(
      verifyCompactSignature(tampered, resolve, [alg]),
      /^assertion signature does not verify$/,
      'signature_mismatch',
    );
  },
);

test('alg confusion: ES256 claimed, the RSA key under that kid is refused', async () => {
  const { jws, jwk } = await signed('RS256');
  const [, p, s] = jws.split('.');
  const claimsEs256 = `${b64u({ alg: 'ES256', kid: 'k' })}.${p}.${s}`;
  const rsaKey = await createLocalJWKSet({ keys: [jwk] })(
    { alg: 'RS256', kid: 'k' },
    { payload: '', signature: '', protected: '' },
  );
  await expectRefused(verifyCompactSignature(claimsEs256, async () => rsaKey, ['ES256']));
});

test('alg confusion: HS256 keyed with the issuer public key (PEM) is refused', async () => {
  const { publicKey, resolve, seen } = await rsaIssuer();
  const input = `${b64u({ alg: 'HS256', kid: 'k' })}.${b64u({ iss: 'x' })}`;
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const jws = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
  await expectRefused(verifyCompactSignature(jws, resolve, ['RS256']));
  expect(seen.lookedUp).toBe(false);
});

test('ES256 claimed with a P-384 key is refused', async () => {
  const { jws, jwk } = await signed('ES384');
  const [, p, s] = jws.split('.');
  const claimsEs256 = `${b64u({ alg: 'ES256', kid: 'k' })}.${p}.${s}`;
  const p384 = await createLocalJWKSet({ keys: [jwk] })(
    { alg: 'ES384', kid: 'k' },
    { payload: '', signature: '', protected: '' },
  );
  await expectRefused(verifyCompactSignature(claimsEs256, async () => p384, ['ES256']));
});

test('an alg outside the issuer allow-list is refused before any key is looked up', async () => {
  const { jws, resolve } = await signed('PS256');
  let looked = false;
  const spy: KeyResolver = async (h, t) => ((looked = true), await resolve(h, t));
  await expectRefused(verifyCompactSignature(jws, spy, ['RS256']), undefined, 'alg_not_accepted');
  expect(looked).toBe(false);
});

test('an RSA key under 2048 bits is refused, even with a good signature', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  // jose will not sign with it; node:crypto will.
  const jws = rawRs256({ alg: 'RS256' }, b64u({ iss: 'x' }), privateKey);
  await expectRefused(
    verifyCompactSignature(jws, async () => publicKey, ['RS256']),
    /2048/,
    'key_unsuitable',
  );
});

test.each([
  ['a symmetric key', async () => new Uint8Array(32)],
  ['a private key', async () => rsaPrivateKey()],
])('%s is never a verification key', async (_name, resolve) => {
  const { jws } = await signed('RS256');
  await expectRefused(verifyCompactSignature(jws, resolve as KeyResolver, ['RS256']));
});

test('a key embedded in the header (jwk) is never used: the issuer key decides', async () => {
  const { resolve } = await rsaIssuer();
  const attacker = rsaPair();
  const jwk = await exportJWK(attacker.publicKey);
  for (const header of [
    { alg: 'RS256', kid: 'k', jwk },
    { alg: 'RS256', jwk },
  ]) {
    const jws = rawRs256(header, b64u({ iss: 'x' }), attacker.privateKey);
    await expectRefused(
      verifyCompactSignature(jws, resolve, ['RS256']),
      /assertion signature does not verify/,
    );
  }
});

test.each<[string, Record<string, unknown>, string, SignatureRefusal]>([
  ['an unknown crit', { crit: ['exp'], exp: 1 }, b64u({ iss: 'x' }), 'header_unsupported'],
  [
    'crit b64 with b64:false (unencoded payload)',
    { crit: ['b64'], b64: false },
    'unencoded',
    'header_unsupported',
  ],
  ['b64:false without crit', { b64: false }, b64u({ iss: 'x' }), 'header_unsupported'],
  [
    'b64:true listed in crit',
    { crit: ['b64'], b64: true },
    b64u({ iss: 'x' }),
    'header_unsupported',
  ],
  ['alg none', { alg: 'none' }, b64u({ iss: 'x' }), 'alg_not_accepted'],
  ['alg HS256', { alg: 'HS256' }, b64u({ iss: 'x' }), 'alg_not_accepted'],
])(
  'a header with %s is refused before any key is looked up, signature or not',
  async (_name, extra, payload, code) => {
    const { privateKey, resolve, seen } = await rsaIssuer();
    // Signed by the issuer's own key: only the header can be the reason for the refusal.
    const jws = rawRs256({ alg: 'RS256', kid: 'k', ...extra }, payload, privateKey);
    await expectRefused(verifyCompactSignature(jws, resolve, ['RS256']), undefined, code);
    expect(seen.lookedUp).toBe(false);
  },
);

test('an ECDSA signature must be r || s (RFC 7518 §3.4): the same signature DER-encoded is refused', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const input = `${b64u({ alg: 'ES256' })}.${b64u({ iss: 'x' })}`;
  const as = (dsaEncoding: 'der' | 'ieee-p1363') =>
    `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding }).toString('base64url')}`;
  await expect(
    verifyCompactSignature(as('ieee-p1363'), async () => publicKey, ['ES256']),
  ).resolves.toBeUndefined();
  await expectRefused(
    verifyCompactSignature(as('der'), async () => publicKey, ['ES256']),
    /does not verify/,
  );
});

test.each([
  ['a truncated signature', (jws: string) => jws.slice(0, -10)],
  ['an empty signature', (jws: string) => jws.slice(0, jws.lastIndexOf('.') + 1)],
  ['two parts', (jws: string) => jws.slice(0, jws.lastIndexOf('.'))],
  ['four parts', (jws: string) => `${jws}.AAAA`],
  ['a character outside base64url', (jws: string) => `${jws.slice(0, -1)}+`],
  ['a header that is not JSON', (jws: string) => `${b64u('{alg')}${jws.slice(jws.indexOf('.'))}`],
  ['a header that is a JSON array', (jws: string) => `${b64u([1])}${jws.slice(jws.indexOf('.'))}`],
])('%s is refused, never thrown as anything else', async (_name, mangle) => {
  const { privateKey, resolve } = await rsaIssuer();
  const jws = rawRs256({ alg: 'RS256', kid: 'k' }, b64u({ iss: 'x' }), privateKey);
  await expect(verifyCompactSignature(jws, resolve, ['RS256'])).resolves.toBeUndefined();
  await expectRefused(verifyCompactSignature(mangle(jws), resolve, ['RS256']));
});

test("a node:crypto 'rsa-pss' key is refused for PS256: its own MGF1 and salt are not the alg's", async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa-pss', {
    modulusLength: 2048,
    hashAlgorithm: 'sha256',
    mgf1HashAlgorithm: 'sha1',
  });
  const input = `${b64u({ alg: 'PS256' })}.${b64u({ iss: 'x' })}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  const jws = `${input}.${signature.toString('base64url')}`;
  await expectRefused(
    verifyCompactSignature(jws, async () => publicKey, ['PS256']),
    /fit alg/,
  );
});

test('a WebCrypto key is used only for the alg it was imported for (RFC 8725 §3.1)', async () => {
  const { privateKey, publicKey } = rsaPair();
  const imported = await importJWK({ ...(await exportJWK(publicKey)), alg: 'RS256' }, 'RS256');
  const signedAs = (alg: string, hash: string, padding?: number) => {
    const input = `${b64u({ alg })}.${b64u({ iss: 'x' })}`;
    const key = padding ? { key: privateKey, padding, saltLength: 32 } : privateKey;
    return `${input}.${sign(hash, Buffer.from(input), key).toString('base64url')}`;
  };
  const resolve = async () => imported;
  await expect(
    verifyCompactSignature(signedAs('RS256', 'sha256'), resolve, ['RS256']),
  ).resolves.toBeUndefined();
  // The same RSA key material, good signatures, but the key was imported for RS256 only.
  await expectRefused(
    verifyCompactSignature(signedAs('RS512', 'sha512'), resolve, ['RS512']),
    /not made for alg RS512/,
  );
  await expectRefused(
    verifyCompactSignature(signedAs('PS256', 'sha256', constants.RSA_PKCS1_PSS_PADDING), resolve, [
      'PS256',
    ]),
    /not made for alg PS256/,
  );
  // A key imported for encryption, never for verifying.
  const forEncryption = await crypto.subtle.importKey(
    'jwk',
    await exportJWK(publicKey),
    { name: 'RSA-OAEP', hash: 'SHA-256' },
    true,
    ['encrypt'],
  );
  await expectRefused(
    verifyCompactSignature(signedAs('RS256', 'sha256'), async () => forEncryption, ['RS256']),
  );
});

test('EdDSA means Ed25519: an Ed448 key is refused', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed448');
  const input = `${b64u({ alg: 'EdDSA' })}.${b64u({ iss: 'x' })}`;
  const jws = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  await expectRefused(
    verifyCompactSignature(jws, async () => publicKey, ['EdDSA']),
    /fit alg/,
  );
});

test.each(['ES384', 'ES512'])(
  '%s: a character appended to the signature is refused, not decoded away',
  async (alg) => {
    const { jws, resolve } = await signed(alg);
    await expect(verifyCompactSignature(jws, resolve, [alg])).resolves.toBeUndefined();
    await expectRefused(
      verifyCompactSignature(`${jws}A`, resolve, [alg]),
      /canonical/,
      'signature_encoding',
    );
  },
);

test('an alg named like an Object.prototype member finds no parameters, even if allowed', async () => {
  const { privateKey, resolve, seen } = await rsaIssuer();
  const jws = rawRs256({ alg: 'constructor', kid: 'k' }, b64u({ iss: 'x' }), privateKey);
  await expectRefused(verifyCompactSignature(jws, resolve, ['constructor']));
  expect(seen.lookedUp).toBe(false);
});

/** One key for the tests below: the pool is spent by the tests above; a new key costs 0.15 s. */
let shared: ReturnType<typeof rsaPair> | undefined;
const sharedPair = () => (shared ??= rsaPair());

test('an RSA key with a 2,000-bit public exponent is refused, even with a good signature', async () => {
  const big = await largeExponentKey(2000, sharedPair().privateKey);
  const jws = rawRs256({ alg: 'RS256' }, b64u({ iss: 'x' }), big.privateKey);
  // node:crypto verifies it: the bound, not the library, is what refuses it.
  const [h, p, sig] = jws.split('.') as [string, string, string];
  expect(
    verify('sha256', Buffer.from(`${h}.${p}`), big.publicKey, Buffer.from(sig, 'base64url')),
  ).toBe(true);
  await expectRefused(
    verifyCompactSignature(jws, async () => big.publicKey, ['RS256']),
    /exponent/,
  );
});

test('the RSA exponent bound: odd, 3 to 2^32 - 1, in a minimal JWK encoding of at most 4 bytes', () => {
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  expect(rsaExponentAcceptable(65537n)).toBe(true);
  expect(rsaExponentAcceptable(3n)).toBe(true);
  expect(rsaExponentAcceptable(0xffff_ffffn)).toBe(true);
  expect(rsaExponentAcceptable(0x1_0000_0001n)).toBe(false);
  expect(rsaExponentAcceptable(65536n)).toBe(false);
  expect(rsaExponentAcceptable(1n)).toBe(false);
  expect(jwkRsaExponentAcceptable('AQAB')).toBe(true);
  expect(jwkRsaExponentAcceptable(b64('03'))).toBe(true);
  expect(jwkRsaExponentAcceptable(b64('ffffffff'))).toBe(true);
  expect(jwkRsaExponentAcceptable(b64('0100000001'))).toBe(false);
  expect(jwkRsaExponentAcceptable(b64('010000'))).toBe(false);
  expect(jwkRsaExponentAcceptable(b64('000000010001'))).toBe(false);
  expect(jwkRsaExponentAcceptable(b64('01'.repeat(384)))).toBe(false);
  expect(jwkRsaExponentAcceptable(65537)).toBe(false);
  expect(jwkRsaExponentAcceptable(undefined)).toBe(false);
});

describe('one spelling per RSA signature: exactly as long as the modulus (RFC 8017 §8.1.2, §8.2.2)', () => {
  const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };

  test('PS256: a signature whose leading zero byte is dropped is refused', async () => {
    const { privateKey, publicKey } = sharedPair();
    const input = `${b64u({ alg: 'PS256' })}.${b64u({ iss: 'x' })}`;
    // PSS signs with a random salt: about one signature in 256 begins with a zero byte.
    let signature = Buffer.alloc(0);
    for (let i = 0; i < 4096 && signature[0] !== 0; i++)
      signature = sign('sha256', Buffer.from(input), { key: privateKey, ...pss });
    expect(signature[0]).toBe(0);
    const full = `${input}.${signature.toString('base64url')}`;
    const short = `${input}.${signature.subarray(1).toString('base64url')}`;
    // OpenSSL accepts both; the verifier must accept only the first.
    expect(
      verify('sha256', Buffer.from(input), { key: publicKey, ...pss }, signature.subarray(1)),
    ).toBe(true);
    await expect(
      verifyCompactSignature(full, async () => publicKey, ['PS256']),
    ).resolves.toBeUndefined();
    await expectRefused(
      verifyCompactSignature(short, async () => publicKey, ['PS256']),
      /as long as the modulus/,
      'signature_encoding',
    );
  });

  test.each([
    ['RS256', {}],
    ['PS256', pss],
  ] as const)('%s: a signature with a zero byte prepended is refused', async (alg, options) => {
    const { privateKey, publicKey } = sharedPair();
    const input = `${b64u({ alg })}.${b64u({ iss: 'x' })}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, ...options });
    const longer = Buffer.concat([Buffer.alloc(1), signature]).toString('base64url');
    await expectRefused(
      verifyCompactSignature(`${input}.${longer}`, async () => publicKey, [alg]),
      /as long as the modulus/,
    );
  });
});

test('ECDSA: (r, s) and (r, n - s) both verify, since honest signers make both (neither is refused)', async () => {
  const order = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const input = `${b64u({ alg: 'ES256' })}.${b64u({ iss: 'x' })}`;
  const spellings = { high: 0, low: 0 };
  // node:crypto, as any OpenSSL or WebCrypto signer, leaves s as it comes: high half of the time.
  for (let i = 0; i < 64 && (spellings.high === 0 || spellings.low === 0); i++) {
    const signature = sign('sha256', Buffer.from(input), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    spellings[s > order / 2n ? 'high' : 'low']++;
    const twin = Buffer.concat([
      signature.subarray(0, 32),
      Buffer.from((order - s).toString(16).padStart(64, '0'), 'hex'),
    ]);
    for (const sig of [signature, twin])
      await expect(
        verifyCompactSignature(`${input}.${sig.toString('base64url')}`, async () => publicKey, [
          'ES256',
        ]),
      ).resolves.toBeUndefined();
  }
  expect(spellings.high).toBeGreaterThan(0);
  expect(spellings.low).toBeGreaterThan(0);
});
