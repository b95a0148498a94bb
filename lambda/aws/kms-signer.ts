/** The Signer port on AWS KMS: RS256 is RSASSA_PKCS1_V1_5_SHA_256 over the raw signing input. */
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Signer } from '../ports.js';
import { once } from '../once.js';
import { KMS_SIGNING_ALGORITHM, kmsPublicJwk } from './kms-key-to-jwk.js';

export class KmsSigner implements Signer {
  /** The kid comes from the public key, which never changes for a key id: fetch it once. */
  readonly keyId: () => Promise<string>;

  constructor(
    private readonly kms: KMSClient,
    private readonly kmsKeyId: string,
  ) {
    this.keyId = once(async () => (await kmsPublicJwk(kms, kmsKeyId)).kid);
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    const { Signature } = await this.kms.send(
      new SignCommand({
        KeyId: this.kmsKeyId,
        Message: signingInput,
        // RAW: KMS hashes the input itself. A RAW message may be up to 4096 bytes; the claims that
        // could grow a token (sub, acr, amr) are bounded when the ID-JAG is read, so it stays far below.
        MessageType: 'RAW',
        SigningAlgorithm: KMS_SIGNING_ALGORITHM,
      }),
    );
    if (!Signature) throw new Error(`KMS returned no signature for key ${this.kmsKeyId}`);
    return Signature;
  }
}
