/**
 * The construct's props (typed, camelCase) and their validation. A mistake stops `cdk synth` with a
 * message naming the prop, in the same words the configuration files use (they hold these props as
 * JSON, lib/environment-config.ts), and the values the functions will parse at start-up are parsed
 * now, with the same code (lambda/config.ts), so what synthesizes also starts.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { HostedZoneAttributes, IHostedZone } from 'aws-cdk-lib/aws-route53';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { ConfigError, loadServiceConfig } from '../lambda/config.js';
import { XaaConfigError } from './config-error.js';
import {
  checkNotificationTarget,
  resolveAlarmThresholds,
  type AlarmThresholds,
} from './observability.js';
import { checkKmsRequestQuota, type KmsRequestQuotaProps } from './kms-quota.js';
import { checkSigningMode, type SigningKeyEntry, type SigningMode } from './signing-keys.js';

export { XaaConfigError } from './config-error.js';

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
  /**
   * An ACM certificate for it, in the stack's region (HTTP APIs use regional endpoints), or in
   * us-east-1 behind edge protection (CloudFront). Give this or `certificateArn`.
   */
  readonly certificate?: ICertificate;
  /** The same certificate by ARN, as configuration files give it. */
  readonly certificateArn?: string;
  /**
   * The Route 53 public hosted zone that holds `domainName`: A and AAAA alias records pointing the
   * name at the API (or at CloudFront) are created in it. Without one, point the name yourself at
   * the `CustomDomainTarget` output (and `CustomDomainHostedZoneId` for an alias record).
   * @default no records
   */
  readonly hostedZone?: IHostedZone | HostedZoneAttributes;
}

/** The token function's size and its share of the account's concurrency. */
export interface TokenFunctionProps {
  /**
   * Memory, which also sets the CPU share: 512 MB signs a token in a few milliseconds and keeps
   * a cold start short; more helps only cold starts. 128 to 10,240 MB. @default 512
   */
  readonly memorySize?: number;
  /**
   * Longest run of one invocation. A request's own deadline is shorter (it answers 503 before
   * this); API Gateway gives up at 30 s, so 1 to 29 s. @default 10 seconds
   */
  readonly timeout?: Duration;
  /**
   * Concurrency reserved for the token function: a guaranteed share of the account's pool that
   * other functions cannot take, and a ceiling on this one. Size it at the token throttle's rate
   * divided by the tokens/s one container sustains in the signing mode (docs/performance.md), times
   * 2 for bursts. It must leave 100 of the account's concurrency unreserved. @default none
   */
  readonly reservedConcurrency?: number;
  /**
   * Containers kept initialized (no cold start), through an alias that API Gateway invokes;
   * billed while idle. At most `reservedConcurrency` when both are set. @default none
   */
  readonly provisionedConcurrency?: number;
  /**
   * The account's concurrency quota in this region, to check `reservedConcurrency` against at
   * synth time. @default 1000 (Lambda's default quota)
   */
  readonly accountConcurrencyLimit?: number;
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
  /** Or this topic of your app. */
  readonly topic?: ITopic;
  /** When each alarm fires; the rest keep their defaults (DEFAULT_ALARM_THRESHOLDS). */
  readonly thresholds?: Partial<AlarmThresholds>;
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
  /**
   * How each key without its own `signing` signs access tokens: `kms` (every token is one KMS Sign;
   * the private key never leaves KMS) or `wrapped-key` (the token function decrypts a KMS-wrapped
   * key once per container and signs in memory). docs/deploy.md, "Choosing a signing mode".
   * @default 'kms'
   */
  readonly signing?: SigningMode;
  /**
   * Size the `POST /token` throttle from a share of the account's KMS RSA request quota, so that
   * overload is a fast 429 rather than throttled Sign calls and 503s (kms mode only).
   * @default the tokenThrottle as given
   */
  readonly kmsRequestQuota?: KmsRequestQuotaProps;
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
  /** The same, as a table of your app (`Table.fromTableName`, or a table your stack owns). */
  readonly existingClientsTable?: ITable;
  /**
   * The Secrets Manager name prefix of client secrets; keep the old one when re-attaching a table
   * whose clients were registered under it. @default `xaa-auth-server/<stack name>/clients/`
   */
  readonly clientSecretPrefix?: string;
  /** Add the sample protected resource behind an HTTP API JWT authorizer. @default off */
  readonly sampleResource?: boolean | SampleResourceProps;
  /**
   * Alarms and a dashboard (lib/observability.ts); `false` turns them off. Without a topic or an
   * e-mail address they change state in the console and on the dashboard only. @default on
   */
  readonly alarms?: boolean | AlarmsProps;
  /** The token function's memory, timeout and concurrency. */
  readonly tokenFunction?: TokenFunctionProps;
  /** A WAF with per-IP rate limits in front of the API (lib/edge-protection.ts). @default off */
  readonly edgeProtection?: boolean | EdgeProtectionProps;
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
  readonly customDomain?: ResolvedCustomDomain;
  readonly throttle: ResolvedThrottle;
  readonly tokenThrottle: ResolvedThrottle;
  readonly logRetention: RetentionDays;
  readonly clientsTableRemoval: RemovalPolicy;
  readonly auditLogsRemoval: RemovalPolicy;
  readonly existingClientsTableName?: string;
  readonly existingClientsTable?: ITable;
  readonly clientSecretPrefix?: string;
  readonly sampleResource?: SampleResourceProps;
  /** Undefined when alarms are off. */
  readonly alarms?: AlarmsProps;
  readonly tokenFunction: ResolvedTokenFunction;
}

export interface ResolvedCustomDomain {
  readonly domainName: string;
  /** A deploy-time token when the certificate is a construct of the app. */
  readonly certificateArn: string;
  readonly certificate?: ICertificate;
  readonly hostedZone?: IHostedZone | HostedZoneAttributes;
}

export interface ResolvedTokenFunction {
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reservedConcurrency?: number;
  readonly provisionedConcurrency?: number;
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

  const signingKeys = checkSigningKeys(props.signingKeys ?? DEFAULT_SIGNING_KEYS, props.signing);
  return {
    serviceEnv,
    corsOrigins,
    signingKeys,
    ...(customDomain && { customDomain }),
    throttle: checkThrottle('throttle', props.throttle, DEFAULT_THROTTLE),
    tokenThrottle: checkKmsRequestQuota(
      props.kmsRequestQuota,
      props.tokenThrottle,
      checkThrottle('tokenThrottle', props.tokenThrottle, DEFAULT_TOKEN_THROTTLE),
      signingKeys.find((k) => k.active)!.signing!,
    ),
    logRetention: checkRetention(props.logRetention ?? RetentionDays.ONE_MONTH),
    clientsTableRemoval: checkRemoval(
      'removalPolicies.clientsTable',
      props.removalPolicies?.clientsTable,
    ),
    auditLogsRemoval: checkRemoval('removalPolicies.auditLogs', props.removalPolicies?.auditLogs),
    ...(props.existingClientsTableName !== undefined && {
      existingClientsTableName: checkTableName(props.existingClientsTableName),
    }),
    ...(props.existingClientsTable !== undefined && {
      existingClientsTable: checkTable(props.existingClientsTable, props.existingClientsTableName),
    }),
    ...(props.clientSecretPrefix !== undefined && {
      clientSecretPrefix: checkSecretPrefix(props.clientSecretPrefix),
    }),
    ...(props.sampleResource && {
      sampleResource: checkSampleResource(
        props.sampleResource === true ? {} : props.sampleResource,
      ),
    }),
    ...(props.alarms !== false && { alarms: checkAlarms(props.alarms) }),
    tokenFunction: checkTokenFunction(props.tokenFunction ?? {}),
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

function checkSigningKeys(keys: readonly SigningKeyEntry[], mode: unknown): SigningKeyEntry[] {
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
    return { id: entry.id, active: entry.active === true, ...checkSigningMode(entry, i, mode) };
  });
  const active = checked.filter((k) => k.active).length;
  if (active !== 1)
    throw new XaaConfigError(K, `must mark exactly one key active, found ${active}`);
  return checked;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;

function checkCustomDomain(value: CustomDomainProps): ResolvedCustomDomain {
  const K = 'customDomain';
  const { domainName, certificate, certificateArn, hostedZone } = value;
  if (typeof domainName !== 'string' || !HOST_NAME.test(domainName))
    throw new XaaConfigError(
      `${K}.domainName`,
      'must be a lowercase host name such as auth.example.com',
    );
  if ((certificate === undefined) === (certificateArn === undefined))
    throw new XaaConfigError(K, 'give "certificate" or "certificateArn", one of them');
  if (certificate !== undefined && typeof certificate?.certificateArn !== 'string')
    throw new XaaConfigError(`${K}.certificate`, 'must be an ACM certificate (ICertificate)');
  if (
    certificateArn !== undefined &&
    (typeof certificateArn !== 'string' ||
      (!Token.isUnresolved(certificateArn) && !ACM_ARN.test(certificateArn)))
  )
    throw new XaaConfigError(`${K}.certificateArn`, 'must be the ARN of an ACM certificate');
  if (hostedZone !== undefined) checkHostedZone(hostedZone, domainName);
  return {
    domainName,
    certificateArn: certificate?.certificateArn ?? certificateArn!,
    ...(certificate && { certificate }),
    ...(hostedZone && { hostedZone }),
  };
}

function checkHostedZone(zone: IHostedZone | HostedZoneAttributes, domainName: string): void {
  const K = 'customDomain.hostedZone';
  if (typeof zone?.hostedZoneId !== 'string' || typeof zone.zoneName !== 'string')
    throw new XaaConfigError(K, 'must be a hosted zone, or its { hostedZoneId, zoneName }');
  if (!Token.isUnresolved(zone.hostedZoneId) && !HOSTED_ZONE_ID.test(zone.hostedZoneId))
    throw new XaaConfigError(`${K}.hostedZoneId`, 'must be a Route 53 hosted zone id (Z...)');
  if (Token.isUnresolved(zone.zoneName)) return;
  const zoneName = zone.zoneName.replace(/\.$/, '').toLowerCase();
  if (domainName !== zoneName && !domainName.endsWith(`.${zoneName}`))
    throw new XaaConfigError(
      `${K}.zoneName`,
      `the zone ${zoneName} does not contain the domain ${domainName}`,
    );
}

function checkTable(table: ITable, name: string | undefined): ITable {
  if (name !== undefined)
    throw new XaaConfigError(
      'existingClientsTable',
      'give "existingClientsTable" or "existingClientsTableName", not both',
    );
  if (typeof table?.tableName !== 'string' || typeof table.tableArn !== 'string')
    throw new XaaConfigError('existingClientsTable', 'must be a DynamoDB table (ITable)');
  return table;
}

function checkAlarms(value: true | AlarmsProps | undefined): AlarmsProps {
  const alarms = value === true || value === undefined ? {} : value;
  checkNotificationTarget(alarms);
  try {
    resolveAlarmThresholds(alarms.thresholds);
  } catch (err) {
    if (err instanceof XaaConfigError) throw new XaaConfigError(`alarms.${err.key}`, err.problem);
    throw err;
  }
  return alarms;
}

/** Lambda keeps this much of an account's concurrency unreserved, for every other function. */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;
const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

function checkTokenFunction(value: TokenFunctionProps): ResolvedTokenFunction {
  const K = 'tokenFunction';
  const whole = (key: string, v: unknown, min: number, max: number, what: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new XaaConfigError(`${K}.${key}`, `must be ${what}`);
    return v;
  };
  const memorySize = whole(
    'memorySize',
    value.memorySize ?? 512,
    128,
    10_240,
    'a whole number of MB from 128 to 10240',
  );
  const timeout = seconds(`${K}.timeout`, value.timeout ?? Duration.seconds(10));
  if (timeout > 29)
    throw new XaaConfigError(
      `${K}.timeout`,
      `must be at most 29 seconds (API Gateway gives up at 30), got ${timeout}`,
    );
  const account = whole(
    'accountConcurrencyLimit',
    value.accountConcurrencyLimit ?? DEFAULT_ACCOUNT_CONCURRENCY,
    UNRESERVED_CONCURRENCY_MINIMUM + 1,
    1_000_000,
    `a whole number above ${UNRESERVED_CONCURRENCY_MINIMUM}`,
  );
  const reservable = account - UNRESERVED_CONCURRENCY_MINIMUM;
  const reservedConcurrency =
    value.reservedConcurrency === undefined
      ? undefined
      : whole(
          'reservedConcurrency',
          value.reservedConcurrency,
          1,
          reservable,
          `from 1 to ${reservable}: Lambda keeps ${UNRESERVED_CONCURRENCY_MINIMUM} of the account's ` +
            `${account} unreserved (set accountConcurrencyLimit if your quota is higher)`,
        );
  const provisionedConcurrency =
    value.provisionedConcurrency === undefined
      ? undefined
      : whole(
          'provisionedConcurrency',
          value.provisionedConcurrency,
          1,
          reservedConcurrency ?? reservable,
          reservedConcurrency === undefined
            ? `from 1 to ${reservable}`
            : `from 1 to reservedConcurrency (${reservedConcurrency})`,
        );
  return {
    memorySize,
    timeout: Duration.seconds(timeout),
    ...(reservedConcurrency !== undefined && { reservedConcurrency }),
    ...(provisionedConcurrency !== undefined && { provisionedConcurrency }),
  };
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
  // A table of the same app gives its name as a deploy-time token: nothing to check yet.
  if (typeof name === 'string' && Token.isUnresolved(name)) return name;
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
