/**
 * The deploy-time half of the JWKS (JWKS-KEYS): a CloudFormation custom resource (CDK provider
 * framework onEvent handler) that reads each signing key's public half from KMS and returns the
 * JWKS document for the JWKS function's environment. KMS returns DER SubjectPublicKeyInfo, binary:
 * it is decoded here, with node:crypto (kms-key-to-jwk.ts), never passed through JSON as text.
 *
 * The resource's properties list the key ARNs, so adding, switching or retiring a key changes them
 * and CloudFormation calls this again (Update): the JWKS follows every rotation step.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import { calculateJwkThumbprint } from 'jose';
import { kmsPublicJwk, UnusableSigningKey } from './kms-key-to-jwk.js';
import {
  PUBLISHED_JWKS_MAX_BYTES,
  serializeJwks,
  type PublishedJwk,
} from '../cdk-shared/published-jwks.js';

export interface JwksPublisherProperties {
  readonly ServiceToken: string;
  /** Every KMS key that may have signed a live token, the active one included, in JWKS order. */
  readonly KeyIds: readonly string[];
  /**
   * The wrapped-key mode's keys (lambda/aws/wrapped-key-generator.ts): each public JWK as JSON,
   * published after the KMS keys. Absent when every key is a KMS key.
   */
  readonly PublicJwks?: readonly string[];
  /** The document's size budget; CloudFormation passes numbers as strings. */
  readonly MaxBytes?: string;
}

export interface JwksPublisherData {
  /** The JWKS document, as the JWKS function serves it. */
  readonly Jwks: string;
  readonly Kids: string;
}

/** One physical id for the resource's whole life: an Update is never a replacement. */
export const JWKS_PHYSICAL_ID = 'published-jwks';

export class JwksPublishError extends Error {
  constructor(problem: string) {
    super(`Published JWKS: ${problem}`);
    this.name = 'JwksPublishError';
  }
}

export function createJwksPublisher(
  kms: KMSClient,
): (
  event: CdkCustomResourceEvent<JwksPublisherProperties>,
) => Promise<CdkCustomResourceResponse<JwksPublisherData>> {
  return async (event) => {
    // Nothing was created outside CloudFormation: the keys are the stack's own resources.
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

    const {
      KeyIds: keyIds,
      PublicJwks: publicJwks = [],
      MaxBytes: maxBytesProperty,
    } = event.ResourceProperties;
    if (
      !Array.isArray(keyIds) ||
      !Array.isArray(publicJwks) ||
      keyIds.length + publicJwks.length === 0 ||
      !keyIds.every((id) => typeof id === 'string' && id.length > 0)
    ) {
      throw new JwksPublishError('KeyIds and PublicJwks must list at least one key between them');
    }
    const maxBytes =
      maxBytesProperty === undefined ? PUBLISHED_JWKS_MAX_BYTES : Number(maxBytesProperty);
    if (!Number.isInteger(maxBytes) || maxBytes <= 0)
      throw new JwksPublishError(
        `MaxBytes must be a positive whole number, got ${maxBytesProperty}`,
      );

    // A key that is missing, not RSA or not for RS256 fails the deploy, naming the key.
    const wrapped = await Promise.all(publicJwks.map((jwk, i) => checkedPublicJwk(jwk, i)));
    const fromKms = await Promise.all(
      keyIds.map((id) =>
        kmsPublicJwk(kms, id).catch((err: unknown) => {
          if (err instanceof UnusableSigningKey) throw err;
          // KMS's own message does not always say which key: the deploy error must.
          const { name, message } = err instanceof Error ? err : new Error(String(err));
          throw new JwksPublishError(`cannot read the public key of ${id}: ${name}: ${message}`);
        }),
      ),
    );
    const keys = [...fromKms, ...wrapped];
    const kids = keys.map((k) => k.kid);
    const repeated = kids.find((kid, i) => kids.indexOf(kid) !== i);
    if (repeated !== undefined)
      throw new JwksPublishError(`two listed key ids name the same key (kid ${repeated})`);

    const jwks = serializeJwks(keys);
    const bytes = Buffer.byteLength(jwks);
    if (bytes > maxBytes) {
      throw new JwksPublishError(
        `${keys.length} keys take ${bytes} bytes, more than the ${maxBytes} the JWKS function's ` +
          'environment allows: retire a key (docs/operations.md, "Rotating the signing key")',
      );
    }
    return {
      PhysicalResourceId: JWKS_PHYSICAL_ID,
      Data: { Jwks: jwks, Kids: kids.join(',') },
    };
  };
}

/**
 * A wrapped key's public JWK as the generator answered it: an RS256 RSA-2048 key whose kid is its
 * RFC 7638 thumbprint, recomputed here rather than trusted.
 */
async function checkedPublicJwk(text: unknown, i: number): Promise<PublishedJwk> {
  const fail = (problem: string) => new JwksPublishError(`PublicJwks[${i}] ${problem}`);
  let jwk: Partial<PublishedJwk>;
  try {
    jwk = JSON.parse(String(text)) as Partial<PublishedJwk>;
  } catch {
    throw fail('is not JSON');
  }
  const { kty, n, e, kid, alg, use } = jwk;
  if (
    kty !== 'RSA' ||
    alg !== 'RS256' ||
    use !== 'sig' ||
    typeof n !== 'string' ||
    typeof e !== 'string'
  )
    throw fail('is not an RS256 RSA signing key');
  if (Buffer.from(n, 'base64url').length !== 256) throw fail('is not an RSA-2048 key');
  if (kid !== (await calculateJwkThumbprint({ kty, n, e }, 'sha256')))
    throw fail(`has kid ${String(kid)}, not its RFC 7638 thumbprint`);
  return { kty, n, e, kid, alg, use };
}
