/**
 * Environment → configuration for the Lambda functions: the shared service configuration
 * (lambda/config.ts) plus the names of the AWS resources each function uses. The stack writes
 * these variables (lib/), so both sides share the names below.
 */
import { ConfigError, loadCorsOrigins, loadServiceConfig, type ServiceConfig } from '../config.js';
import { parsePublishedJwks, PUBLISHED_JWKS_ENV, type PublishedJwk } from './published-jwks.js';

type Env = Readonly<Record<string, string | undefined>>;

export const AWS_ENV = {
  clientsTable: 'CLIENTS_TABLE_NAME',
  replayTable: 'REPLAY_TABLE_NAME',
  secretPrefix: 'CLIENT_SECRET_PREFIX',
  signingKey: 'SIGNING_KEY_ID',
  publishedJwks: PUBLISHED_JWKS_ENV,
  metricsNamespace: 'METRICS_NAMESPACE',
  /** `wrapped-key` for the wrapped-key mode (lambda/aws/wrapped-key-signer.ts); absent: KMS signs. */
  signingMode: 'SIGNING_MODE',
  signingKeySecret: 'SIGNING_KEY_SECRET',
  signingKeyName: 'SIGNING_KEY_NAME',
  signingKeyKid: 'SIGNING_KEY_KID',
} as const;

/** The signing modes: KMS signs each token, or the function signs with a key it decrypts once. */
export const SIGNING_MODES = ['kms', 'wrapped-key'] as const;
export type SigningMode = (typeof SIGNING_MODES)[number];

const DEFAULT_METRICS_NAMESPACE = 'XaaAuthServer';

export interface TokenFunctionConfig {
  readonly service: ServiceConfig;
  readonly clientsTable: string;
  readonly replayTable: string;
  /** Every client secret's name starts with this; the function may read nothing else. */
  readonly secretPrefix: string;
  /** The active KMS signing key (id or ARN); in the wrapped-key mode, the key that wraps it. */
  readonly signingKeyId: string;
  /** In the wrapped-key mode: where the wrapped key is, and what it must turn out to be. */
  readonly wrappedKey?: {
    readonly secretId: string;
    readonly keyName: string;
    readonly kid: string;
  };
  readonly metricsNamespace: string;
}

/** The JWKS function's: what it serves, and to which browser origins. */
export interface JwksFunctionConfig {
  readonly corsOrigins: readonly string[];
  /** Every key that may have signed a live token, as the stack published them at deploy time. */
  readonly keys: readonly PublishedJwk[];
}

export function loadTokenFunctionConfig(env: Env): TokenFunctionConfig {
  const service = loadServiceConfig(env);
  // CIMD-DEV-HTTP: a Lambda function has no localhost worth fetching from, and a switch that turns
  // the outbound guard off has no business in a deployed stack.
  if (service.clientMetadata.allowHttpLoopback)
    throw new ConfigError('CLIENT_METADATA_HTTP_LOCALHOST', 'is for a laptop only, never on AWS');
  return {
    service,
    clientsTable: required(env, AWS_ENV.clientsTable),
    replayTable: required(env, AWS_ENV.replayTable),
    secretPrefix: required(env, AWS_ENV.secretPrefix),
    signingKeyId: required(env, AWS_ENV.signingKey),
    ...(wrapped(env) && {
      wrappedKey: {
        secretId: required(env, AWS_ENV.signingKeySecret),
        keyName: required(env, AWS_ENV.signingKeyName),
        kid: required(env, AWS_ENV.signingKeyKid),
      },
    }),
    metricsNamespace: env[AWS_ENV.metricsNamespace]?.trim() || DEFAULT_METRICS_NAMESPACE,
  };
}

function wrapped(env: Env): boolean {
  const mode = env[AWS_ENV.signingMode]?.trim() || 'kms';
  if (!(SIGNING_MODES as readonly string[]).includes(mode))
    throw new ConfigError(AWS_ENV.signingMode, `must be one of ${SIGNING_MODES.join(', ')}`);
  return mode === 'wrapped-key';
}

export function loadJwksFunctionConfig(env: Env): JwksFunctionConfig {
  return {
    corsOrigins: loadCorsOrigins(env),
    keys: parsePublishedJwks(env[AWS_ENV.publishedJwks]).keys,
  };
}

function required(env: Env, variable: string): string {
  const value = env[variable]?.trim();
  if (!value) throw new ConfigError(variable, 'is required');
  return value;
}
