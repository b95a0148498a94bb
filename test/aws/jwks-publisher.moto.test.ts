/**
 * The JWKS publisher (the deploy-time custom resource) against moto's KMS: the binary DER public
 * key becomes the JWK that verifies what KMS signs; an Update follows the key list; failures name
 * the key and stop the deploy.
 */
import { createPublicKey } from 'node:crypto';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import {
  createJwksPublisher,
  JWKS_PHYSICAL_ID,
  type JwksPublisherProperties,
} from '../../lambda/aws/jwks-publisher.js';
import { KmsSigner } from '../../lambda/aws/kms-signer.js';
import { parsePublishedJwks, PUBLISHED_JWK_BYTES } from '../../lambda/cdk-shared/published-jwks.js';
import { signAccessToken } from '../../lambda/oauth/access-token.js';
import { describeWithMoto, startMoto, type Moto, recordCommands } from '../support/moto.js';

type Event = CdkCustomResourceEvent<JwksPublisherProperties>;

const common = {
  ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:framework',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/never-called',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/T/1',
  RequestId: 'request-1',
  LogicalResourceId: 'PublishedJwks',
  ResourceType: 'Custom::PublishedJwks',
};
const create = (keyIds: string[], maxBytes?: number): Event => ({
  ...common,
  RequestType: 'Create',
  ResourceProperties: {
    ServiceToken: common.ServiceToken,
    KeyIds: keyIds,
    ...(maxBytes !== undefined && { MaxBytes: String(maxBytes) }),
  },
});
const update = (keyIds: string[], oldKeyIds: string[]): Event => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: JWKS_PHYSICAL_ID,
  ResourceProperties: { ServiceToken: common.ServiceToken, KeyIds: keyIds },
  OldResourceProperties: { ServiceToken: common.ServiceToken, KeyIds: oldKeyIds },
});

describeWithMoto('JWKS publisher on moto', () => {
  let moto: Moto;
  let kms: KMSClient;
  const calls: string[] = [];
  let publish: ReturnType<typeof createJwksPublisher>;
  let k1: string;
  let k2: string;
  let k3: string;

  const createKey = async (spec: 'RSA_2048' | 'ECC_NIST_P256' = 'RSA_2048') =>
    (await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!
      .Arn!;
  const jwksOf = async (event: Event) => {
    const res = await publish(event);
    return { res, jwks: parsePublishedJwks(res.Data!.Jwks) };
  };

  beforeAll(async () => {
    moto = await startMoto();
    kms = new KMSClient(moto.clientConfig);
    recordCommands(kms, calls);
    publish = createJwksPublisher(kms);
    [k1, k2, k3] = await Promise.all([createKey(), createKey(), createKey()]);
  });
  beforeEach(() => {
    calls.length = 0;
  });
  afterAll(async () => {
    kms?.destroy();
    await moto?.stop();
  });

  test('Create: each key is the JWK of the exact DER KMS returns, with its RFC 7638 kid, in list order', async () => {
    const { res, jwks } = await jwksOf(create([k1, k2]));
    expect(res.PhysicalResourceId).toBe(JWKS_PHYSICAL_ID);
    expect(jwks.keys).toHaveLength(2);
    for (const [i, arn] of [k1, k2].entries()) {
      const key = jwks.keys[i]!;
      const der = (await kms.send(new GetPublicKeyCommand({ KeyId: arn }))).PublicKey!;
      // Byte for byte: the JWK re-encoded as SPKI is the DER KMS holds (no text round trip).
      const fromJwk = createPublicKey({ key: { kty: key.kty, n: key.n, e: key.e }, format: 'jwk' });
      expect(Buffer.from(fromJwk.export({ type: 'spki', format: 'der' }))).toEqual(
        Buffer.from(der),
      );
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: key.n, e: key.e }));
      expect(Buffer.from(key.n, 'base64url')).toHaveLength(256);
    }
    expect(res.Data!.Kids).toBe(jwks.keys.map((k) => k.kid).join(','));
  });

  test('a token KMS signs with the active key verifies against the published JWKS, and only that key', async () => {
    const { jwks } = await jwksOf(create([k1, k2]));
    const now = Math.floor(Date.now() / 1000);
    const signer = new KmsSigner(kms, k2);
    const token = await signAccessToken(
      {
        iss: 'https://as.example.test',
        sub: 'alice',
        aud: 'https://api.example.com/',
        client_id: 'c',
        iat: now,
        exp: now + 60,
        jti: 'j',
        scope: 'read',
      },
      signer,
    );
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBe(jwks.keys[1]!.kid);
    const { jwks: others } = await jwksOf(create([k1, k3]));
    await expect(jwtVerify(token, createLocalJWKSet(others))).rejects.toThrow();
  });

  test('Update (a rotation step) re-reads the new list under the same physical id; Delete calls nothing', async () => {
    const before = (await jwksOf(create([k1]))).jwks.keys.map((k) => k.kid);
    const { res, jwks } = await jwksOf(update([k1, k2], [k1]));
    expect(res.PhysicalResourceId).toBe(JWKS_PHYSICAL_ID);
    expect(jwks.keys.map((k) => k.kid)).toEqual([before[0], expect.any(String)]);
    const retired = await jwksOf(update([k2], [k1, k2]));
    expect(retired.jwks.keys.map((k) => k.kid)).toEqual([jwks.keys[1]!.kid]);

    calls.length = 0;
    const deleted = await publish({
      ...common,
      RequestType: 'Delete',
      PhysicalResourceId: JWKS_PHYSICAL_ID,
      ResourceProperties: { ServiceToken: common.ServiceToken, KeyIds: [k2] },
    });
    expect(deleted).toEqual({ PhysicalResourceId: JWKS_PHYSICAL_ID });
    expect(calls).toEqual([]);
  });

  test('a missing key, a key that cannot sign RS256, or one key listed twice fails the deploy, naming it', async () => {
    const missing = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000';
    await expect(publish(create([k1, missing]))).rejects.toThrow(
      new RegExp(`cannot read the public key of ${missing}: NotFoundException`),
    );
    const ec = await createKey('ECC_NIST_P256');
    await expect(publish(create([ec]))).rejects.toThrow(new RegExp(`KMS key ${ec} `));
    const keyId = k1.split('/').pop()!;
    await expect(publish(create([k1, keyId]))).rejects.toThrow(/name the same key/);
    await expect(publish(create([]))).rejects.toThrow(
      /KeyIds and PublicJwks must list at least one key/,
    );
  });

  test('a document over its byte budget fails the deploy with what to do, instead of a broken function', async () => {
    const { res } = await jwksOf(create([k1, k2]));
    const bytes = Buffer.byteLength(res.Data!.Jwks);
    expect(bytes).toBeLessThanOrEqual(2 * PUBLISHED_JWK_BYTES);
    await expect(publish(create([k1, k2], bytes - 1))).rejects.toThrow(
      new RegExp(`2 keys take ${bytes} bytes, more than the ${bytes - 1} .*retire a key`),
    );
    await expect(publish(create([k1, k2], bytes))).resolves.toMatchObject({
      PhysicalResourceId: JWKS_PHYSICAL_ID,
    });
  });
});
