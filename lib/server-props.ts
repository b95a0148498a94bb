/**
 * The construct's props (typed, camelCase) and their validation. A mistake stops `cdk synth` with a
 * message naming the prop, in the same words the configuration files use (they hold these props as
 * JSON, lib/environment-config.ts), and the values the functions will parse at start-up are parsed
 * now, with the same code (lambda/config.ts), so what synthesizes also starts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ConfigError, loadServiceConfig } from '../lambda/config.js';
import type { SigningKeyEntry } from './signing-keys.js';

export interface TrustedIssuerProps {
  /** The IdP's issuer identifier, exactly as its ID-JAGs carry it in `iss`. */
  readonly issuer: string;
  /** Where the IdP publishes its signing keys (https). */
  readonly jwksUri: string;
  /** Asymmetric JWS algorithms accepted from this IdP. @default ['RS256'] */
  readonly algorithms?: readonly string[];
  /** Longest accepted `exp - iat` of an ID-JAG (whole seconds). @default Duration.minutes(5) */
  readonly maxAssertionLifetime?: Duration;
  /** Accept the same `jti` more than once (JAG-REPLAY policy switch). @default false */
  readonly allowReuse?: boolean;
  /** Prepended to `sub` in access tokens; required for each IdP when there are several (GRANT-SUBJECT). */
  readonly subjectPrefix?: string;
}

export interface ThrottleProps {
  /** Steady requests per second. */
  readonly rateLimit?: number;
  /** Burst, in requests. */
  readonly burstLimit?: number;
}

export interface CustomDomainProps {
  /** The host name: it becomes the issuer (`https://<domainName>`). */
  readonly domainName: string;
  /** An ACM certificate for it, in the stack's region (HTTP APIs use regional endpoints). */
  readonly certificateArn: string;
}

export interface SampleResourceProps {
  /** The resource identifier tokens must carry as `aud`. @default the issuer plus "/" */
  readonly resource?: string;
}

export interface RemovalPolicies {
  /**
   * The client registry. RETAIN (the default) also turns DynamoDB deletion protection on; DESTROY
   * turns it off, so that a throwaway environment can be torn down completely.
   * @default RemovalPolicy.RETAIN
   */
  readonly clientsTable?: RemovalPolicy;
  /**
   * The audit trail: the token function's log group and the API access logs.
   * @default RemovalPolicy.RETAIN
   */
  readonly auditLogs?: RemovalPolicy;
}

/** Alarms and a dashboard: lib/observability.ts defines what they watch. */
export interface AlarmsProps {
  /** Subscribe this address to a topic made for the alarms. */
  readonly email?: string;
  /** Or notify this existing SNS topic. */
  readonly topicArn?: string;
}

/** A WAF in front of the token endpoint: lib/edge-protection.ts. */
export interface EdgeProtectionProps {
  /** Requests per client IP to POST /token in any 5-minute window before the WAF blocks it. @default 300 */
  readonly rateLimitPerIp?: number;
  /**
   * A CLOUDFRONT-scope web ACL made in us-east-1 (EdgeWebAcl): required when the stack is in
   * another region. @default one made in this stack, which must then be in us-east-1
   */
  readonly webAclArn?: string;
}

export interface XaaAuthorizationServerProps {
  /** The IdPs whose ID-JAGs are accepted. Required, at least one: there is no default IdP. */
  readonly trustedIssuers: readonly TrustedIssuerProps[];
  /** Browser origins allowed to call the endpoints (CORS-ORIGINS). @default none */
  readonly corsOrigins?: readonly string[];
  /** Access-token lifetime for clients that set none (whole seconds). @default 1 hour */
  readonly accessTokenLifetime?: Duration;
  /** Cap on any client's access-token lifetime. @default the larger of 1 day and accessTokenLifetime */
  readonly maxAccessTokenLifetime?: Duration;
  /** Tolerance for `exp`, `nbf` and `iat` of ID-JAGs. @default 60 seconds */
  readonly clockSkew?: Duration;
  /** Advertised as `scopes_supported` in the metadata. @default none */
  readonly scopesSupported?: readonly string[];
  /**
   * One KMS key per entry, exactly one `active`; the list is the rotation procedure
   * (docs/operations.md). @default [{ id: 'key-1', active: true }]
   */
  readonly signingKeys?: readonly SigningKeyEntry[];
  /** Serve on your own host name, which becomes the issuer; the execute-api URL is switched off. */
  readonly customDomain?: CustomDomainProps;
  /** The whole `$default` stage. @default 50 requests/s, burst 100 */
  readonly throttle?: ThrottleProps;
  /** `POST /token` alone. @default 10 requests/s, burst 20 */
  readonly tokenThrottle?: ThrottleProps;
  /** Retention of every log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  readonly removalPolicies?: RemovalPolicies;
  /**
   * Re-attach a clients table kept from an earlier deployment (a `cdk destroy` retains it) instead
   * of creating one: docs/operations.md, "Coming back after a teardown".
   */
  readonly existingClientsTableName?: string;
  /**
   * The Secrets Manager name prefix of client secrets; keep the old one when re-attaching a table
   * whose clients were registered under it. @default `xaa-auth-server/<stack name>/clients/`
   */
  readonly clientSecretPrefix?: string;
  /** Add the sample protected resource behind an HTTP API JWT authorizer. @default off */
  readonly sampleResource?: boolean | SampleResourceProps;
  /** Alarms and a dashboard (lib/observability.ts). @default off */
  readonly alarms?: boolean | AlarmsProps;
  /** A WAF with per-IP rate limits in front of the API (lib/edge-protection.ts). @default off */
  readonly edgeProtection?: boolean | EdgeProtectionProps;
}

/** A prop that cannot be used, named as the configuration files name it. */
export class XaaConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = 'XaaConfigError';
  }
}

export interface ResolvedThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The props with their defaults applied, checked, plus the service variables the functions get. */
export interface ResolvedServerProps {
  /** lambda/config.ts variables, ISSUER aside (known only once the API exists). */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly corsOrigins: readonly string[];
  readonly signingKeys: readonly SigningKeyEntry[];
  readonly customDomain?: CustomDomainProps;
  readonly throttle: ResolvedThrottle;
  readonly tokenThrottle: ResolvedThrottle;
  readonly logRetention: RetentionDays;
  readonly clientsTableRemoval: RemovalPolicy;
  readonly auditLogsRemoval: RemovalPolicy;
  readonly existingClientsTableName?: string;
  readonly clientSecretPrefix?: string;
  readonly sampleResource?: SampleResourceProps;
}

export const DEFAULT_SIGNING_KEYS: readonly SigningKeyEntry[] = [{ id: 'key-1', active: true }];
export const DEFAULT_THROTTLE: ResolvedThrottle = { rateLimit: 50, burstLimit: 100 };
export const DEFAULT_TOKEN_THROTTLE: ResolvedThrottle = { rateLimit: 10, burstLimit: 20 };

export function resolveServerProps(props: XaaAuthorizationServerProps): ResolvedServerProps {
  if (!Array.isArray(props.trustedIssuers) || props.trustedIssuers.length === 0) {
    throw new XaaConfigError(
      'trustedIssuers',
      'is required: list at least one IdP ({ issuer, jwksUri }); there is no default',
    );
  }
  const customDomain = props.customDomain && checkCustomDomain(props.customDomain);
  const serviceEnv: Record<string, string> = {
    TRUSTED_ISSUERS: JSON.stringify(
      props.trustedIssuers.map((t, i) => ({
        issuer: t.issuer,
        jwks_uri: t.jwksUri,
        ...(t.algorithms !== undefined && { algorithms: t.algorithms }),
        ...(t.maxAssertionLifetime !== undefined && {
          max_assertion_lifetime: seconds(
            `trustedIssuers[${i}].maxAssertionLifetime`,
            t.maxAssertionLifetime,
          ),
        }),
        ...(t.allowReuse !== undefined && { allow_reuse: t.allowReuse }),
        ...(t.subjectPrefix !== undefined && { subject_prefix: t.subjectPrefix }),
      })),
    ),
    CORS_ORIGINS: (props.corsOrigins ?? []).join(','),
    ACCESS_TOKEN_TTL: String(
      seconds('accessTokenLifetime', props.accessTokenLifetime ?? Duration.hours(1)),
    ),
    CLOCK_SKEW: String(seconds('clockSkew', props.clockSkew ?? Duration.seconds(60), true)),
    ...(props.maxAccessTokenLifetime && {
      MAX_ACCESS_TOKEN_TTL: String(seconds('maxAccessTokenLifetime', props.maxAccessTokenLifetime)),
    }),
    ...(props.scopesSupported?.length && {
      SCOPES_SUPPORTED: checkScopes(props.scopesSupported).join(' '),
    }),
  };

  // The functions parse these variables at start-up: parse them now, with a stand-in issuer where
  // the real one is known only at deploy time, so a mistake stops the synth instead.
  let corsOrigins: readonly string[];
  try {
    const issuer = customDomain
      ? `https://${customDomain.domainName}`
      : 'https://deploy-time.execute-api.amazonaws.com';
    corsOrigins = loadServiceConfig({ ...serviceEnv, ISSUER: issuer }).corsOrigins;
  } catch (err) {
    if (err instanceof ConfigError) throw asPropError(err);
    throw err;
  }

  return {
    serviceEnv,
    corsOrigins,
    signingKeys: checkSigningKeys(props.signingKeys ?? DEFAULT_SIGNING_KEYS),
    ...(customDomain && { customDomain }),
    throttle: checkThrottle('throttle', props.throttle, DEFAULT_THROTTLE),
    tokenThrottle: checkThrottle('tokenThrottle', props.tokenThrottle, DEFAULT_TOKEN_THROTTLE),
    logRetention: checkRetention(props.logRetention ?? RetentionDays.ONE_MONTH),
    clientsTableRemoval: checkRemoval(
      'removalPolicies.clientsTable',
      props.removalPolicies?.clientsTable,
    ),
    auditLogsRemoval: checkRemoval('removalPolicies.auditLogs', props.removalPolicies?.auditLogs),
    ...(props.existingClientsTableName !== undefined && {
      existingClientsTableName: checkTableName(props.existingClientsTableName),
    }),
    ...(props.clientSecretPrefix !== undefined && {
      clientSecretPrefix: checkSecretPrefix(props.clientSecretPrefix),
    }),
    ...(props.sampleResource && {
      sampleResource: checkSampleResource(
        props.sampleResource === true ? {} : props.sampleResource,
      ),
    }),
  };
}

/** lambda/config.ts names environment variables and snake_case members: say it in prop words. */
function asPropError(err: ConfigError): XaaConfigError {
  const keys: Record<string, string> = {
    TRUSTED_ISSUERS: 'trustedIssuers',
    CORS_ORIGINS: 'corsOrigins',
    ACCESS_TOKEN_TTL: 'accessTokenLifetime',
    MAX_ACCESS_TOKEN_TTL: 'maxAccessTokenLifetime',
    CLOCK_SKEW: 'clockSkew',
    SCOPES_SUPPORTED: 'scopesSupported',
    ISSUER: 'customDomain',
  };
  const members: Record<string, string> = {
    jwks_uri: 'jwksUri',
    max_assertion_lifetime: 'maxAssertionLifetime',
    allow_reuse: 'allowReuse',
    subject_prefix: 'subjectPrefix',
    ACCESS_TOKEN_TTL: 'accessTokenLifetime',
    MAX_ACCESS_TOKEN_TTL: 'maxAccessTokenLifetime',
  };
  const problem = err.message
    .slice(err.variable.length + 2)
    .replace(/\bentry (\d+)/g, 'entry [$1]')
    .replace(
      /\b(jwks_uri|max_assertion_lifetime|allow_reuse|subject_prefix)\b/g,
      (m) => members[m]!,
    )
    .replace(/\b(MAX_ACCESS_TOKEN_TTL|ACCESS_TOKEN_TTL)\b/g, (m) => members[m]!);
  return new XaaConfigError(keys[err.variable] ?? err.variable, problem);
}

function seconds(key: string, d: Duration, zeroAllowed = false): number {
  if (!(d instanceof Duration)) throw new XaaConfigError(key, 'must be a Duration');
  let s: number;
  try {
    s = d.toSeconds();
  } catch {
    throw new XaaConfigError(key, 'must be a whole number of seconds');
  }
  if (!Number.isInteger(s) || s < 0 || (s === 0 && !zeroAllowed) || s > 999_999_999) {
    throw new XaaConfigError(
      key,
      `must be a ${zeroAllowed ? '' : 'positive '}whole number of seconds, got ${s}`,
    );
  }
  return s;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

function checkScopes(scopes: readonly string[]): readonly string[] {
  scopes.forEach((s, i) => {
    if (typeof s !== 'string' || !SCOPE_TOKEN.test(s))
      throw new XaaConfigError(
        `scopesSupported[${i}]`,
        `is not a scope token: ${JSON.stringify(s)}`,
      );
  });
  return scopes;
}

function checkThrottle(
  key: string,
  value: ThrottleProps | undefined,
  fallback: ResolvedThrottle,
): ResolvedThrottle {
  const rateLimit = value?.rateLimit ?? fallback.rateLimit;
  const burstLimit = value?.burstLimit ?? fallback.burstLimit;
  if (typeof rateLimit !== 'number' || !(rateLimit > 0) || !Number.isFinite(rateLimit))
    throw new XaaConfigError(
      `${key}.rateLimit`,
      'must be a positive number of requests per second',
    );
  if (typeof burstLimit !== 'number' || !Number.isInteger(burstLimit) || burstLimit < 1)
    throw new XaaConfigError(`${key}.burstLimit`, 'must be a positive whole number of requests');
  return { rateLimit, burstLimit };
}

const KEY_ID = /^[A-Za-z0-9-]{1,32}$/;

function checkSigningKeys(keys: readonly SigningKeyEntry[]): SigningKeyEntry[] {
  const K = 'signingKeys';
  if (!Array.isArray(keys) || keys.length === 0)
    throw new XaaConfigError(K, 'must be a non-empty array of { id, active }');
  const seen = new Set<string>();
  const checked = keys.map((entry, i): SigningKeyEntry => {
    if (typeof entry?.id !== 'string' || !KEY_ID.test(entry.id))
      throw new XaaConfigError(`${K}[${i}].id`, 'must be 1-32 characters of A-Z a-z 0-9 -');
    if (entry.active !== undefined && typeof entry.active !== 'boolean')
      throw new XaaConfigError(`${K}[${i}].active`, 'must be true or false');
    if (seen.has(entry.id)) throw new XaaConfigError(`${K}[${i}].id`, `repeats ${entry.id}`);
    seen.add(entry.id);
    return { id: entry.id, active: entry.active === true };
  });
  const active = checked.filter((k) => k.active).length;
  if (active !== 1)
    throw new XaaConfigError(K, `must mark exactly one key active, found ${active}`);
  return checked;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/;

function checkCustomDomain(value: CustomDomainProps): CustomDomainProps {
  const { domainName, certificateArn } = value;
  if (typeof domainName !== 'string' || !HOST_NAME.test(domainName))
    throw new XaaConfigError(
      'customDomain.domainName',
      'must be a lowercase host name such as auth.example.com',
    );
  if (typeof certificateArn !== 'string' || !ACM_ARN.test(certificateArn))
    throw new XaaConfigError(
      'customDomain.certificateArn',
      "must be the ARN of an ACM certificate in the stack's region",
    );
  return { domainName, certificateArn };
}

function checkRetention(days: RetentionDays): RetentionDays {
  const allowed = Object.values(RetentionDays).filter(
    (v): v is number => typeof v === 'number' && v > 0,
  );
  if (!allowed.includes(days))
    throw new XaaConfigError(
      'logRetention',
      `must be a number of days CloudWatch Logs offers: ${allowed.sort((a, b) => a - b).join(', ')}`,
    );
  return days;
}

function checkRemoval(key: string, value: RemovalPolicy | undefined): RemovalPolicy {
  if (value === undefined) return RemovalPolicy.RETAIN;
  if (value !== RemovalPolicy.RETAIN && value !== RemovalPolicy.DESTROY)
    throw new XaaConfigError(key, 'must be RETAIN or DESTROY');
  return value;
}

function checkTableName(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(name))
    throw new XaaConfigError(
      'existingClientsTableName',
      'must be a DynamoDB table name (3-255 characters of A-Z a-z 0-9 _ . -)',
    );
  return name;
}

function checkSecretPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,200}\/$/.test(prefix))
    throw new XaaConfigError(
      'clientSecretPrefix',
      'must be a Secrets Manager name prefix ending in "/" (A-Z a-z 0-9 / _ + = . @ -)',
    );
  return prefix;
}

function checkSampleResource(value: SampleResourceProps): SampleResourceProps {
  if (value.resource === undefined) return {};
  if (typeof value.resource !== 'string' || !/^https:\/\/[^#]+$/.test(value.resource))
    throw new XaaConfigError('sampleResource.resource', 'must be an https URI without a fragment');
  return { resource: value.resource };
}
