/**
 * The PublicKeys port on AWS KMS: every listed key's public half. Keys never change for an id and
 * the list is fixed per deployment, so the set is fetched once per container, all keys at once.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { PublicKeys } from '../ports.js';
import { once } from '../once.js';
import { kmsPublicJwk, type PublicJwk } from './kms-key-to-jwk.js';

export class KmsPublicKeys implements PublicKeys {
  private readonly keys: () => Promise<PublicJwk[]>;

  constructor(kms: KMSClient, keyIds: readonly string[]) {
    this.keys = once(() => Promise.all(keyIds.map((id) => kmsPublicJwk(kms, id))));
  }

  async jwks(): Promise<{ keys: PublicJwk[] }> {
    // Copies, so a caller cannot change what later callers receive.
    return { keys: (await this.keys()).map((k) => ({ ...k })) };
  }

  /** Fetch now (during the function's init) so the first request is answered from memory. */
  warm(): Promise<void> {
    return this.keys().then(
      () => undefined,
      () => undefined, // retried by the first request, which then reports the failure
    );
  }
}
