/**
 * The deploy-time half of the wrapped-key mode: a CloudFormation custom resource (CDK provider
 * framework onEvent handler), one per configured key, that makes an RSA-2048 key pair with
 * node:crypto inside this function, wraps the private half with kms:Encrypt under the key's own
 * symmetric KMS key and encryption context, and stores only that ciphertext, in a Secrets Manager
 * secret it creates. CloudFormation receives the secret's ARN and the public half, never the
 * private one; nothing here logs either.
 *
 * Why not KMS GenerateDataKeyPair: it would make the pair inside KMS, which is better still, but
 * moto (the test suite's AWS) does not implement it; a pair made here and wrapped at once leaves
 * the plaintext in this function's memory for a few milliseconds of one deploy, and lets the whole
 * path be tested end to end. The function's role may Encrypt but not Decrypt.
 *
 * Update: the same key (wrapping key, name and spec unchanged) is read back and answered again; a
 * changed identity is a new key (a new physical id), and CloudFormation then deletes the old one.
 * Delete schedules the secret's deletion with the same 30-day window as the KMS key's.
 */
import { generateKeyPair as generateKeyPairCallback, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import {
  encryptionContext,
  parseWrappedKeySecret,
  publicJwkOf,
  WRAPPED_KEY_FORMAT,
  WRAPPED_KEY_SPEC,
  type WrappedKeySecret,
} from './wrapped-signing-key.js';

const generateKeyPair = promisify(generateKeyPairCallback);

export interface WrappedKeyProperties {
  readonly ServiceToken: string;
  /** The symmetric KMS key that wraps this one. */
  readonly WrappingKeyArn: string;
  /** The encryption context's `signing-key`: `<stack>/<construct>/<configured key id>`. */
  readonly KeyName: string;
  /** The secret's name is this plus the configured id and a random suffix. */
  readonly SecretNamePrefix: string;
  readonly KeySpec: string;
}

export interface WrappedKeyData {
  readonly SecretArn: string;
  readonly Kid: string;
  /** The public JWK, JSON: the JWKS publisher's input. */
  readonly PublicJwk: string;
}

/** Secrets Manager's longest recovery window, the same as the KMS key's pending window. */
export const SECRET_RECOVERY_DAYS = 30;

export class WrappedKeyError extends Error {
  constructor(problem: string) {
    super(`Wrapped signing key: ${problem}`);
    this.name = 'WrappedKeyError';
  }
}

export function createWrappedKeyGenerator(
  kms: KMSClient,
  secrets: SecretsManagerClient,
): (
  event: CdkCustomResourceEvent<WrappedKeyProperties>,
) => Promise<CdkCustomResourceResponse<WrappedKeyData>> {
  const create = async (
    p: WrappedKeyProperties,
  ): Promise<CdkCustomResourceResponse<WrappedKeyData>> => {
    const { privateKey, publicKey } = await generateKeyPair('rsa', { modulusLength: 2048 });
    const publicJwk = await publicJwkOf(publicKey);
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    let ciphertext: Uint8Array | undefined;
    try {
      ({ CiphertextBlob: ciphertext } = await kms.send(
        new EncryptCommand({
          KeyId: p.WrappingKeyArn,
          Plaintext: der,
          EncryptionContext: encryptionContext(p.KeyName),
        }),
      ));
    } finally {
      der.fill(0);
    }
    if (!ciphertext) throw new WrappedKeyError(`KMS returned no ciphertext for ${p.KeyName}`);
    const value: WrappedKeySecret = {
      format: WRAPPED_KEY_FORMAT,
      keySpec: WRAPPED_KEY_SPEC,
      keyName: p.KeyName,
      wrappingKeyArn: p.WrappingKeyArn,
      publicJwk,
      ciphertext: Buffer.from(ciphertext).toString('base64'),
    };
    const { ARN } = await secrets.send(
      new CreateSecretCommand({
        Name: `${p.SecretNamePrefix}${lastSegment(p.KeyName)}-${randomBytes(4).toString('hex')}`,
        Description: `Access-token signing key ${p.KeyName}, wrapped under ${p.WrappingKeyArn} (kid ${publicJwk.kid})`,
        SecretString: JSON.stringify(value),
      }),
    );
    if (!ARN) throw new WrappedKeyError(`Secrets Manager returned no ARN for ${p.KeyName}`);
    return data(ARN, value);
  };

  return async (event) => {
    if (event.RequestType === 'Delete') {
      const id = event.PhysicalResourceId;
      // A Create that failed left no secret, only a physical id CloudFormation made up.
      if (id.startsWith('arn:'))
        await secrets
          .send(
            new DeleteSecretCommand({ SecretId: id, RecoveryWindowInDays: SECRET_RECOVERY_DAYS }),
          )
          .catch((err: unknown) => {
            if (!(err instanceof ResourceNotFoundException)) throw err;
          });
      return { PhysicalResourceId: id };
    }
    const p = checked(event.ResourceProperties);
    if (event.RequestType === 'Create') return create(p);
    const old = event.OldResourceProperties as WrappedKeyProperties;
    const same =
      old.WrappingKeyArn === p.WrappingKeyArn &&
      old.KeyName === p.KeyName &&
      old.KeySpec === p.KeySpec &&
      old.SecretNamePrefix === p.SecretNamePrefix;
    if (!same) return create(p);
    const { SecretString } = await secrets.send(
      new GetSecretValueCommand({ SecretId: event.PhysicalResourceId }),
    );
    return data(event.PhysicalResourceId, parseWrappedKeySecret(SecretString));
  };
}

function data(arn: string, value: WrappedKeySecret): CdkCustomResourceResponse<WrappedKeyData> {
  return {
    PhysicalResourceId: arn,
    Data: { SecretArn: arn, Kid: value.publicJwk.kid, PublicJwk: JSON.stringify(value.publicJwk) },
  };
}

function checked(p: WrappedKeyProperties): WrappedKeyProperties {
  for (const name of ['WrappingKeyArn', 'KeyName', 'SecretNamePrefix'] as const)
    if (typeof p[name] !== 'string' || p[name].length === 0)
      throw new WrappedKeyError(`${name} is required`);
  if (p.KeySpec !== WRAPPED_KEY_SPEC)
    throw new WrappedKeyError(
      `key ${p.KeyName}: KeySpec ${p.KeySpec} is not supported (only ${WRAPPED_KEY_SPEC}: tokens are RS256)`,
    );
  return p;
}

function lastSegment(keyName: string): string {
  return keyName.slice(keyName.lastIndexOf('/') + 1);
}
