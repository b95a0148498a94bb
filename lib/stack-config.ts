/**
 * CDK context → the stack's configuration, validated at synth time so a malformed value fails
 * `cdk synth` instead of the first cold start. Every key is optional; docs/deploy.md lists them.
 *
 *   trustedIssuers     JSON array, as TRUSTED_ISSUERS (default: the xaa.dev playground IdP)
 *   corsOrigins        array or comma-separated origins (default: https://xaa.dev,https://app.xaa.dev)
 *   accessTokenTtl     seconds (default 3600); maxAccessTokenTtl caps per-client lifetimes
 *   scopesSupported    space-separated scopes advertised in the metadata
 *   throttle           {"rateLimit": n, "burstLimit": n} for the whole stage (default 50/100)
 *   tokenThrottle      the same for POST /token alone (default 10/20)
 *   signingKeys        [{"id": "k1", "active": true}, ...]: one KMS key each, exactly one active
 *   customDomain       {"domainName": "...", "certificateArn": "..."}: becomes the issuer
 *   logRetentionDays   days to keep function and access logs (default 30)
 *   sampleResource     true, or {"resource": "URI"}: add the sample protected resource's routes
 *                      behind an HTTP API JWT authorizer (audience default: the issuer plus "/")
 *
 * Values given with `-c key=value` arrive as strings; JSON values are parsed.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import {
  ConfigError,
  DEFAULT_CORS_ORIGINS,
  DEFAULT_TRUSTED_ISSUERS,
  loadServiceConfig,
} from '../lambda/config.js';

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface SigningKeySpec {
  /** Names the key in the stack: keep it for the key's whole life (changing it replaces the key). */
  readonly id: string;
  readonly active: boolean;
}

export interface SampleResourceSpec {
  /** The resource identifier tokens must carry as `aud`; undefined: the issuer plus "/". */
  readonly resource?: string;
}

export interface CustomDomain {
  readonly domainName: string;
  readonly certificateArn: string;
}

export interface StackConfig {
  /** The service variables every function gets (lambda/config.ts), issuer aside. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly corsOrigins: readonly string[];
  readonly throttle: Throttle;
  readonly tokenThrottle: Throttle;
  readonly signingKeys: readonly SigningKeySpec[];
  readonly customDomain?: CustomDomain;
  readonly logRetention: RetentionDays;
  readonly sampleResource?: SampleResourceSpec;
}

const DEFAULT_SIGNING_KEYS: readonly SigningKeySpec[] = [{ id: 'key-1', active: true }];

export class ContextError extends Error {
  constructor(key: string, problem: string) {
    super(`CDK context "${key}": ${problem}`);
    this.name = 'ContextError';
  }
}

type Context = (key: string) => unknown;

/** Reads the configuration from a construct node's context (cdk.json, `-c`, or the App's context). */
export function stackConfigFromContext(node: Node): StackConfig {
  return parseStackConfig((key) => node.tryGetContext(key));
}

export function parseStackConfig(context: Context): StackConfig {
  const json = (key: string): unknown => {
    const value = context(key);
    if (typeof value !== 'string') return value;
    const text = value.trim();
    if (!text.startsWith('[') && !text.startsWith('{')) return value;
    try {
      return JSON.parse(text);
    } catch {
      throw new ContextError(key, 'is not valid JSON');
    }
  };

  const trusted = json('trustedIssuers');
  const origins = json('corsOrigins');
  const serviceEnv: Record<string, string> = {
    TRUSTED_ISSUERS: trusted === undefined ? DEFAULT_TRUSTED_ISSUERS : JSON.stringify(trusted),
    CORS_ORIGINS:
      origins === undefined
        ? DEFAULT_CORS_ORIGINS
        : Array.isArray(origins)
          ? origins.join(',')
          : String(origins),
    ACCESS_TOKEN_TTL: String(context('accessTokenTtl') ?? 3600),
    ...optional('MAX_ACCESS_TOKEN_TTL', context('maxAccessTokenTtl')),
    ...optional('SCOPES_SUPPORTED', context('scopesSupported')),
  };
  const customDomain = parseCustomDomain(json('customDomain'));

  // The functions parse the same variables at start-up: parse them now, with a stand-in issuer
  // where the real one is only known at deploy time, so a mistake stops the synth.
  let corsOrigins: readonly string[];
  try {
    const issuer = customDomain
      ? `https://${customDomain.domainName}`
      : 'https://deploy-time.execute-api.amazonaws.com';
    corsOrigins = loadServiceConfig({ ...serviceEnv, ISSUER: issuer }).corsOrigins;
  } catch (err) {
    if (err instanceof ConfigError) throw new ContextError(contextKeyOf(err.variable), err.message);
    throw err;
  }

  return {
    serviceEnv,
    corsOrigins,
    throttle: parseThrottle('throttle', json('throttle'), { rateLimit: 50, burstLimit: 100 }),
    tokenThrottle: parseThrottle('tokenThrottle', json('tokenThrottle'), {
      rateLimit: 10,
      burstLimit: 20,
    }),
    signingKeys: parseSigningKeys(json('signingKeys')),
    ...(customDomain && { customDomain }),
    logRetention: parseRetention(context('logRetentionDays')),
    ...optionalSampleResource(json('sampleResource')),
  };
}

function optionalSampleResource(value: unknown): { sampleResource?: SampleResourceSpec } {
  const K = 'sampleResource';
  if (value === undefined || value === false || value === 'false' || value === '') return {};
  if (value === true || value === 'true') return { sampleResource: {} };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ContextError(K, 'must be true or {"resource": "URI"}');
  const { resource, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new ContextError(K, `has unknown key ${JSON.stringify(Object.keys(rest)[0])}`);
  if (resource === undefined) return { sampleResource: {} };
  if (typeof resource !== 'string' || !/^https:\/\/[^#]+$/.test(resource))
    throw new ContextError(K, '"resource" must be an https URI without a fragment');
  return { sampleResource: { resource } };
}

function optional(variable: string, value: unknown): Record<string, string> {
  return value === undefined || value === null || value === '' ? {} : { [variable]: String(value) };
}

function contextKeyOf(variable: string): string {
  const keys: Record<string, string> = {
    TRUSTED_ISSUERS: 'trustedIssuers',
    CORS_ORIGINS: 'corsOrigins',
    ACCESS_TOKEN_TTL: 'accessTokenTtl',
    MAX_ACCESS_TOKEN_TTL: 'maxAccessTokenTtl',
    ISSUER: 'customDomain',
  };
  return keys[variable] ?? variable;
}

function parseThrottle(key: string, value: unknown, fallback: Throttle): Throttle {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null)
    throw new ContextError(key, 'must be {"rateLimit": n, "burstLimit": n}');
  const {
    rateLimit = fallback.rateLimit,
    burstLimit = fallback.burstLimit,
    ...rest
  } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new ContextError(key, `has unknown key ${JSON.stringify(Object.keys(rest)[0])}`);
  if (typeof rateLimit !== 'number' || !(rateLimit > 0))
    throw new ContextError(key, '"rateLimit" must be a positive number of requests per second');
  if (typeof burstLimit !== 'number' || !Number.isInteger(burstLimit) || burstLimit < 1) {
    throw new ContextError(key, '"burstLimit" must be a positive whole number of requests');
  }
  return { rateLimit, burstLimit };
}

const KEY_ID = /^[A-Za-z0-9-]{1,32}$/;

function parseSigningKeys(value: unknown): SigningKeySpec[] {
  const K = 'signingKeys';
  if (value === undefined) return [...DEFAULT_SIGNING_KEYS];
  if (!Array.isArray(value) || value.length === 0)
    throw new ContextError(K, 'must be a non-empty array of {"id", "active"}');
  const seen = new Set<string>();
  const keys = value.map((entry: unknown, i): SigningKeySpec => {
    if (typeof entry !== 'object' || entry === null)
      throw new ContextError(K, `entry ${i} must be an object`);
    const { id, active = false, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0)
      throw new ContextError(
        K,
        `entry ${i} has unknown key ${JSON.stringify(Object.keys(rest)[0])}`,
      );
    if (typeof id !== 'string' || !KEY_ID.test(id))
      throw new ContextError(K, `entry ${i} "id" must be 1-32 characters of A-Z a-z 0-9 -`);
    if (typeof active !== 'boolean')
      throw new ContextError(K, `entry ${i} "active" must be true or false`);
    if (seen.has(id)) throw new ContextError(K, `repeats id ${id}`);
    seen.add(id);
    return { id, active };
  });
  const active = keys.filter((k) => k.active).length;
  if (active !== 1) throw new ContextError(K, `must mark exactly one key active, found ${active}`);
  return keys;
}

function parseCustomDomain(value: unknown): CustomDomain | undefined {
  const K = 'customDomain';
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'object')
    throw new ContextError(K, 'must be {"domainName": "...", "certificateArn": "..."}');
  const { domainName, certificateArn, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new ContextError(K, `has unknown key ${JSON.stringify(Object.keys(rest)[0])}`);
  if (
    typeof domainName !== 'string' ||
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)
  ) {
    throw new ContextError(
      K,
      '"domainName" must be a lowercase host name such as auth.example.com',
    );
  }
  if (
    typeof certificateArn !== 'string' ||
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/.test(certificateArn)
  ) {
    throw new ContextError(
      K,
      '"certificateArn" must be the ARN of an ACM certificate in the stack\'s region',
    );
  }
  return { domainName, certificateArn };
}

function parseRetention(value: unknown): RetentionDays {
  if (value === undefined) return RetentionDays.ONE_MONTH;
  const days = Number(value);
  const allowed = Object.values(RetentionDays).filter(
    (v): v is number => typeof v === 'number' && v > 0,
  );
  if (!allowed.includes(days))
    throw new ContextError(
      'logRetentionDays',
      `must be one of ${allowed.sort((a, b) => a - b).join(', ')}`,
    );
  return days as RetentionDays;
}
