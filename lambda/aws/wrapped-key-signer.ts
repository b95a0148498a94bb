/**
 * The Signer port in the wrapped-key mode: the container reads the wrapped private key from
 * Secrets Manager once, decrypts it with one kms:Decrypt under its encryption context, and signs
 * every token in memory (node:crypto, the local server's KeyFileSigner). No KMS call per token.
 *
 * A load that fails (the key disabled, access revoked, KMS throttling, a damaged secret) is not
 * retried by every request: until the next attempt is due, requests are refused at once, and the
 * token handler answers 503 with Retry-After set to when that attempt comes (retryAfterSeconds).
 * The first failure and every change of cause are logged, once each; so is the recovery. A key is
 * used only whole and only once its public half is the published one (its kid matches): nothing
 * is signed with a partial, stale or substituted key.
 */
import { createPrivateKey } from 'node:crypto';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError, type Log } from '../logging.js';
import { KeyFileSigner } from '../key-file-signer.js';
import type { Signer } from '../ports.js';
import {
  encryptionContext,
  parseWrappedKeySecret,
  WrappedKeyFormatError,
} from './wrapped-signing-key.js';

export interface WrappedKeySignerOptions {
  /** The secret holding the wrapped key (name or ARN). */
  readonly secretId: string;
  /** The symmetric KMS key it is wrapped under: Decrypt names it, so no other key is tried. */
  readonly wrappingKeyId: string;
  /** The encryption context's `signing-key` member. */
  readonly keyName: string;
  /** The kid the JWKS publishes for this key: the loaded key must have it. */
  readonly kid: string;
  readonly logger: Log;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Wait after the first failed load; doubled after each further one, up to maxRetryDelayMs. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

export class SigningKeyUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SigningKeyUnavailable';
  }
}

export class WrappedKeySigner implements Signer {
  private key: KeyFileSigner | undefined;
  private loading: Promise<KeyFileSigner> | undefined;
  private failure:
    { cause: unknown; summary: string; retryAt: number; delayMs: number } | undefined;
  private readonly now: () => number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;

  constructor(
    private readonly kms: KMSClient,
    private readonly secrets: SecretsManagerClient,
    private readonly options: WrappedKeySignerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.retryDelayMs = options.retryDelayMs ?? 2000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  }

  /** Known from the published JWKS: no AWS call. */
  async keyId(): Promise<string> {
    return this.options.kid;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    return (await this.signingKey()).sign(signingInput);
  }

  /** Load during init, so the first request signs from memory; never rejects. */
  async warm(): Promise<void> {
    await this.signingKey().catch(() => undefined);
  }

  /** Seconds until the next load attempt while the key is unavailable, else undefined. */
  retryAfterSeconds(): number | undefined {
    if (this.key || !this.failure) return undefined;
    return Math.max(1, Math.ceil((this.failure.retryAt - this.now()) / 1000));
  }

  private signingKey(): Promise<KeyFileSigner> {
    if (this.key) return Promise.resolve(this.key);
    if (this.loading) return this.loading;
    const failure = this.failure;
    if (failure && this.now() < failure.retryAt) {
      return Promise.reject(
        new SigningKeyUnavailable(
          `the signing key could not be loaded (${failure.summary}); next attempt in ` +
            `${this.retryAfterSeconds()} s`,
          this.retryAfterSeconds()!,
          { cause: failure.cause },
        ),
      );
    }
    this.loading = this.load().then(
      (key) => {
        if (this.failure)
          this.options.logger.info('signing key loaded after earlier failures', {
            kid: this.options.kid,
          });
        this.key = key;
        this.failure = undefined;
        this.loading = undefined;
        return key;
      },
      (err: unknown) => {
        const summary = summarize(err);
        const delayMs = failure
          ? Math.min(failure.delayMs * 2, this.maxRetryDelayMs)
          : this.retryDelayMs;
        if (failure?.summary !== summary)
          this.options.logger.error('signing key unavailable: tokens are refused until it loads', {
            kid: this.options.kid,
            secret: this.options.secretId,
            retryInMs: delayMs,
            cause: describeError(err),
          });
        this.failure = { cause: err, summary, retryAt: this.now() + delayMs, delayMs };
        this.loading = undefined;
        throw new SigningKeyUnavailable(
          `the signing key could not be loaded (${summary})`,
          Math.ceil(delayMs / 1000),
          {
            cause: err,
          },
        );
      },
    );
    return this.loading;
  }

  private async load(): Promise<KeyFileSigner> {
    const { secretId, wrappingKeyId, keyName, kid } = this.options;
    const { SecretString } = await this.secrets.send(
      new GetSecretValueCommand({ SecretId: secretId }),
    );
    const wrapped = parseWrappedKeySecret(SecretString);
    if (wrapped.keyName !== keyName || wrapped.publicJwk.kid !== kid)
      throw new WrappedKeyFormatError(
        `the secret holds key ${wrapped.keyName} (kid ${wrapped.publicJwk.kid}), not ${keyName} (kid ${kid})`,
      );
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({
        KeyId: wrappingKeyId,
        CiphertextBlob: Buffer.from(wrapped.ciphertext, 'base64'),
        EncryptionContext: encryptionContext(keyName),
      }),
    );
    if (!Plaintext) throw new WrappedKeyFormatError('KMS returned no plaintext');
    try {
      const signer = await KeyFileSigner.fromPrivateKey(
        // A view, not a copy: the one buffer is zeroed below.
        createPrivateKey({
          key: Buffer.from(Plaintext.buffer, Plaintext.byteOffset, Plaintext.byteLength),
          format: 'der',
          type: 'pkcs8',
        }),
      );
      const loadedKid = await signer.keyId();
      if (loadedKid !== kid)
        throw new WrappedKeyFormatError(
          `the decrypted key has kid ${loadedKid}, not the published ${kid}`,
        );
      return signer;
    } finally {
      // The KeyObject holds its own copy: the response's buffer need not outlive it.
      Plaintext.fill(0);
    }
  }
}

/** What went wrong, in one line without the key material: the error's name and message. */
function summarize(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
