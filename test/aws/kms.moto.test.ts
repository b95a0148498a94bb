/** The KMS signer and JWKS against moto's KMS: what KMS signs verifies with what the JWKS publishes. */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import { KmsPublicKeys } from '../../lambda/aws/kms-public-keys.js';
import { KmsSigner } from '../../lambda/aws/kms-signer.js';
import { UnusableSigningKey } from '../../lambda/aws/kms-key-to-jwk.js';
import { signAccessToken, type AccessTokenClaims } from '../../lambda/oauth/access-token.js';
import { createJwksHandler } from '../../lambda/handlers/jwks.js';
import { httpEvent } from '../support/events.js';
import { MemoryLog, bodyOf } from '../support/harness.js';
import { describeWithMoto, startMoto, type Moto, recordCommands } from '../support/moto.js';

describeWithMoto('KMS adapters on moto', () => {
  let moto: Moto;
  let kms: KMSClient;
  const calls: string[] = [];
  let signingKey: string;
  let otherKey: string;

  const createKey = async (
    usage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' = 'SIGN_VERIFY',
    spec = 'RSA_2048',
  ) =>
    (await kms.send(new CreateKeyCommand({ KeySpec: spec as 'RSA_2048', KeyUsage: usage })))
      .KeyMetadata!.Arn!;

  beforeAll(async () => {
    moto = await startMoto();
    kms = new KMSClient(moto.clientConfig);
    // Counts the calls that reach the wire, to see what the caches save.
    recordCommands(kms, calls);
    [signingKey, otherKey] = await Promise.all([createKey(), createKey()]);
  });
  beforeEach(() => {
    calls.length = 0;
  });
  afterAll(async () => {
    kms?.destroy();
    await moto?.stop();
  });

  const claims = (): AccessTokenClaims => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'https://as.example.test',
      sub: 'alice',
      aud: 'https://api.example.com/',
      client_id: 'c',
      iat: now,
      exp: now + 60,
      jti: 'j',
      scope: 'read',
    };
  };

  test('a token signed through KMS (RS256, RAW) verifies with the published JWK, found by its RFC 7638 kid', async () => {
    const signer = new KmsSigner(kms, signingKey);
    const token = await signAccessToken(claims(), signer);
    const jwks = await new KmsPublicKeys(kms, [otherKey, signingKey]).jwks();

    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'https://as.example.test',
      audience: 'https://api.example.com/',
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    expect(payload.sub).toBe('alice');
    expect(protectedHeader.kid).toBe(await signer.keyId());
    // Every listed key is published, in order, each as a complete RS256 signing JWK.
    expect(jwks.keys).toHaveLength(2);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
      expect(key.kid).toBe(
        await calculateJwkThumbprint({ kty: key.kty, n: key.n, e: key.e }, 'sha256'),
      );
      expect(Buffer.from(key.n!, 'base64url')).toHaveLength(256); // RSA-2048
    }
    expect(jwks.keys[1]!.kid).toBe(protectedHeader.kid);
    expect(jwks.keys[0]!.kid).not.toBe(protectedHeader.kid);
  });

  test('a token signed by one key does not verify with only the other key published', async () => {
    const token = await signAccessToken(claims(), new KmsSigner(kms, signingKey));
    const jwks = await new KmsPublicKeys(kms, [otherKey]).jwks();
    await expect(jwtVerify(token, createLocalJWKSet(jwks))).rejects.toThrow();
  });

  test('the public keys are fetched once per container, concurrently, and the kid once per signer', async () => {
    const keys = new KmsPublicKeys(kms, [signingKey, otherKey]);
    await Promise.all([keys.warm(), keys.jwks(), keys.jwks()]);
    await keys.jwks();
    expect(calls).toEqual(['GetPublicKeyCommand', 'GetPublicKeyCommand']);

    calls.length = 0;
    const signer = new KmsSigner(kms, signingKey);
    await Promise.all([signer.keyId(), signer.keyId()]);
    await signer.sign(new Uint8Array([1, 2, 3]));
    await signer.sign(new Uint8Array([4, 5, 6]));
    expect(calls).toEqual(['GetPublicKeyCommand', 'SignCommand', 'SignCommand']);
  });

  test('a served JWKS cannot be changed by its receiver', async () => {
    const keys = new KmsPublicKeys(kms, [signingKey]);
    const first = await keys.jwks();
    first.keys[0]!.kid = 'tampered';
    first.keys.pop();
    const second = await keys.jwks();
    expect(second.keys).toHaveLength(1);
    expect(second.keys[0]!.kid).not.toBe('tampered');
  });

  test('a missing key is a clean error, not cached: JWKS answers 503, the signer rejects', async () => {
    const missing = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000';
    const keys = new KmsPublicKeys(kms, [signingKey, missing]);
    await keys.warm(); // never rejects
    await expect(keys.jwks()).rejects.toMatchObject({ name: 'NotFoundException' });
    calls.length = 0;
    await expect(keys.jwks()).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(calls.length).toBeGreaterThan(0); // the failure was not kept

    const log = new MemoryLog();
    const jwks = createJwksHandler({ keys, corsOrigins: [], logger: log });
    const res = await jwks(httpEvent('GET', '/.well-known/jwks.json'));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.any(String),
    });
    expect(res.body).not.toMatch(/\bat .*\.(ts|js)/);

    const signer = new KmsSigner(kms, missing);
    await expect(signer.keyId()).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(signer.sign(new Uint8Array([1]))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });

  test('a listed key that cannot sign RS256 is named in the error', async () => {
    const encryptionKey = await createKey('ENCRYPT_DECRYPT', 'SYMMETRIC_DEFAULT');
    const ecKey = await createKey('SIGN_VERIFY', 'ECC_NIST_P256');
    // moto does not serve GetPublicKey for symmetric keys; real KMS refuses it too. Either way: no JWKS.
    await expect(new KmsPublicKeys(kms, [encryptionKey]).jwks()).rejects.toThrow();
    const err = await new KmsPublicKeys(kms, [ecKey]).jwks().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnusableSigningKey);
    expect((err as Error).message).toContain(ecKey);
  });
});
