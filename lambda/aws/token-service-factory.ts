/**
 * The TokenService on AWS adapters: what the token function builds at start-up, and what the
 * fault-injection tests build around mocked SDK clients.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError, type Log } from '../logging.js';
import { RemoteIssuerKeys, type IssuerKeysOptions } from '../remote/issuer-keys.js';
import { remoteClientSources } from '../remote/client-sources.js';
import { parseDpopNonceKey } from '../oauth/dpop-nonce.js';
import { TokenService } from '../oauth/token-service.js';
import { systemClock, type Clock } from '../ports.js';
import type { TokenFunctionConfig } from '../cdk-shared/aws-config.js';
import { CachedClientRegistry } from './cached-client-registry.js';
import { DynamoDbClientRegistry } from './dynamodb-client-registry.js';
import { DynamoDbReplayGuard } from './dynamodb-replay-guard.js';
import { KmsSigner } from './kms-signer.js';
import { DEPENDENCY_RETRY_AFTER_SECONDS } from './retry-after.js';
import { WrappedKeySigner, type WrappedKeySignerOptions } from './wrapped-key-signer.js';
import {
  SecretsManagerSecretStore,
  type SecretsManagerSecretStoreOptions,
} from './secrets-manager-secret-store.js';

/** Above a Secrets Manager read's usual latency in-region, well inside the request budget. */
const AUTH_FAILURE_FLOOR_MS = 150;

/** DPOP-NONCE: the secret holding the nonce key (base64url, at least 32 bytes) on AWS. */
export function dpopNonceSecretName(secretPrefix: string): string {
  return `${secretPrefix}dpop-nonce-key`;
}

export interface TokenFunctionClients {
  readonly kms: KMSClient;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
}

export interface TokenFunctionOptions {
  readonly logger: Log;
  readonly clock?: Clock;
  readonly issuerKeys?: IssuerKeysOptions;
  readonly secrets?: Omit<SecretsManagerSecretStoreOptions, 'prefix'>;
  /** Client records are cached this long in a warm container (0: not at all). */
  readonly clientCacheTtlMs?: number;
  /** The wrapped-key signer's clock and retry delays (tests). */
  readonly wrappedKey?: Pick<WrappedKeySignerOptions, 'now' | 'retryDelayMs' | 'maxRetryDelayMs'>;
}

export function createAwsTokenService(
  config: TokenFunctionConfig,
  clients: TokenFunctionClients,
  options: TokenFunctionOptions,
): {
  service: TokenService;
  warm(): Promise<void>;
  /** Seconds a 503 should ask the client to wait (Retry-After). */
  retryAfterSeconds(): number;
} {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const issuerKeys = new RemoteIssuerKeys(config.service.trustedIssuers, {
    onFetchError: (issuer, err) =>
      logger.warn('trusted issuer JWKS fetch failed', { issuer, cause: describeError(err) }),
    ...options.issuerKeys,
  });
  const dynamoRegistry = new DynamoDbClientRegistry(clients.dynamodb, config.clientsTable);
  const ttl = options.clientCacheTtlMs ?? 10_000;
  const signer = config.wrappedKey
    ? new WrappedKeySigner(clients.kms, clients.secretsManager, {
        ...config.wrappedKey,
        wrappingKeyId: config.signingKeyId,
        logger,
        ...options.wrappedKey,
      })
    : new KmsSigner(clients.kms, config.signingKeyId);
  const secrets = new SecretsManagerSecretStore(clients.secretsManager, {
    ...options.secrets,
    prefix: config.secretPrefix,
  });
  const service = new TokenService({
    config: config.service,
    registry: ttl > 0 ? new CachedClientRegistry(dynamoRegistry, ttl) : dynamoRegistry,
    secrets,
    signer,
    replay: new DynamoDbReplayGuard(clients.dynamodb, config.replayTable, () => clock.now()),
    issuerKeys,
    ...remoteClientSources(config.service, {
      onFetchError: (url, err) =>
        logger.warn('client JWKS fetch failed', { url, cause: describeError(err) }),
    }),
    clock,
    // AUTH-FAILURE: a wrong secret for a registered client costs a Secrets Manager read (tens of
    // ms); every invalid_client answer takes at least this long, so timing shows neither.
    authFailureFloorMs: AUTH_FAILURE_FLOOR_MS,
    // DPOP-NONCE without DPOP_NONCE_KEY: every container must accept the nonces of the others, so
    // they share one key, read from a secret under the prefix the function may already read.
    dpopNonceKey: async () => {
      const key = parseDpopNonceKey(
        (await secrets.getSecret(dpopNonceSecretName(config.secretPrefix))) ?? '',
      );
      if (!key) throw new Error('the DPoP nonce key secret is missing or shorter than 32 bytes');
      return key;
    },
  });
  return {
    service,
    // The trusted issuers' JWKS and our own kid, fetched during init so the first request has them.
    // Never rejects: whatever failed is fetched again (and reported) on demand.
    warm: async () => {
      // The wrapped-key signer loads its key here (and logs a failure itself).
      const [, kid] = await Promise.allSettled([
        issuerKeys.warm(),
        signer instanceof WrappedKeySigner ? signer.warm() : signer.keyId(),
      ]);
      if (kid.status === 'rejected')
        logger.warn('signing key unavailable at start-up', { cause: describeError(kid.reason) });
    },
    retryAfterSeconds: () =>
      (signer instanceof WrappedKeySigner ? signer.retryAfterSeconds() : undefined) ??
      DEPENDENCY_RETRY_AFTER_SECONDS,
  };
}
