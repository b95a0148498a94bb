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
import { checkRateLimit, checkCloudFrontCertificate } from './edge-protection.js';
import {
  checkNotificationTarget,
  resolveAlarmThresholds,
  type AlarmThresholds,
} from './observability.js';
import { checkKmsRequestQuota, type KmsRequestQuotaProps } from './kms-quota.js';
import { checkSigningMode, type SigningKeyEntry, type SigningMode } from './signing-keys.js';

export { XaaConfigError } from './config-error.js';

/**
 * An IdP whose ID-JAGs the server accepts: its issuer, where its keys are, and how far to trust
 * its assertions.
 *
 * @see https://www.ietf.org/archive/id/draft-ietf-oauth-identity-assertion-authz-grant-04.html
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 (the checks a JWT bearer assertion gets)
 */
export interface TrustedIssuerProps {
  /**
   * The IdP's issuer identifier, exactly as its ID-JAGs carry it in `iss`: https (http only on
   * localhost), no query or fragment, compared byte for byte.
   */
  readonly issuer: string;
  /**
   * Where the IdP publishes its signing keys, as its metadata's `jwks_uri` names it.
   * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
   */
  readonly jwksUri: string;
  /**
   * Asymmetric JWS algorithms accepted from this IdP; `none` and HMAC can never be listed, since
   * an assertion must be signed with a key only the IdP holds.
   * @default ['RS256']
   * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1
   */
  readonly algorithms?: readonly string[];
  /**
   * Longest accepted `exp - iat` of an ID-JAG, in whole seconds (the clock skew is added): a
   * short-lived assertion limits what a stolen one is worth.
   * @default Duration.minutes(5)
   */
  readonly maxAssertionLifetime?: Duration;
  /**
   * Accept the same `jti` more than once (JAG-REPLAY policy switch): only for an IdP that is known
   * to reuse identifiers, since it turns off replay protection for its assertions.
   * @default false
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3 (item 7)
   */
  readonly allowReuse?: boolean;
  /**
   * Prepended to `sub` in access tokens, so that two IdPs' users never share a subject
   * (GRANT-SUBJECT): required for each IdP when there are several, and no prefix may begin
   * another.
   * @default '' (allowed only when this is the one trusted issuer)
   */
  readonly subjectPrefix?: string;
  /**
   * GRANT-SCOPE-DEFAULT: what an ID-JAG from this IdP without a `scope` claim is worth: the
   * client's registered scopes, narrowed by the request (`registered`), or no scope (`none`).
   * @default 'registered'
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
   */
  readonly defaultScope?: 'registered' | 'none';
  /**
   * JAG-TENANT: for an IdP that serves several tenants under one issuer, the one tenant whose
   * ID-JAGs (`tenant` claim) are accepted: its users' `sub` is unique within the tenant only.
   * @default none: the IdP is single-tenant and the claim is not read
   */
  readonly tenant?: string;
}

/**
 * CIMD-POLICY: which unregistered clients, named by the URL of their Client ID Metadata Document
 * and authenticating with private_key_jwt, may redeem ID-JAGs, and what they may be granted.
 * @example
 * { urlPrefix: 'https://agents.example.com/clients/', scopes: ['read'],
 *   resources: ['https://mcp.example.com/mcp'] }
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
export interface ClientMetadataDocumentRule {
  /**
   * A client id is admitted when it continues this URL: same scheme and port, the same host (or,
   * for `https://*.example.com/…`, a host under that domain), a path under this one. At least `/`
   * after the host.
   */
  readonly urlPrefix: string;
  /** The scopes such a client may be granted (the ID-JAG still bounds them). */
  readonly scopes: readonly string[];
  /** The resources (RFC 8707) such a client may be granted tokens for. */
  readonly resources: readonly string[];
  /** The trusted issuers whose ID-JAGs such a client may redeem. @default every trusted issuer */
  readonly issuers?: readonly string[];
  /** Access-token lifetime for such clients. @default the server's accessTokenLifetime */
  readonly tokenLifetime?: Duration;
  /** Every token for such a client must be DPoP-bound (DPOP-REQUIRED). @default false */
  readonly dpopBoundRequired?: boolean;
}

/**
 * An API Gateway throttle: past it callers get 429 before any function runs.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
 */
export interface ThrottleProps {
  /** Steady requests per second. @default that of the throttle it sets (`throttle` or `tokenThrottle`) */
  readonly rateLimit?: number;
  /** Burst, in requests. @default that of the throttle it sets (`throttle` or `tokenThrottle`) */
  readonly burstLimit?: number;
}

/**
 * Your own host name for the server. It becomes the issuer, so it must stay the same for as long
 * as clients and resource servers trust tokens from it.
 *
 * @example
 * ```ts
 * customDomain: {
 *   domainName: 'auth.example.com',
 *   certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/abcd-1234',
 *   hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' },
 * }
 * ```
 */
export interface CustomDomainProps {
  /** The host name: it becomes the issuer (`https://<domainName>`). */
  readonly domainName: string;
  /**
   * An ACM certificate for it, in the stack's region (HTTP APIs use regional endpoints), or in
   * us-east-1 behind edge protection (CloudFront). Give this or `certificateArn`.
   */
  readonly certificate?: ICertificate;
  /** The same certificate by ARN, as configuration files give it. Give this or `certificate`. */
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

/** The sample protected resource: an HTTP API route behind API Gateway's own JWT authorizer. */
export interface SampleResourceProps {
  /**
   * The resource identifier tokens must carry as `aud` (https, no fragment); clients ask for it
   * as their `resource`.
   * @default the issuer plus "/"
   * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
   */
  readonly resource?: string;
}

/** What is kept when the stack is deleted: the state that cannot be made again. */
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

/**
 * Alarms and a dashboard (lib/observability.ts defines what they watch). Give at most one of
 * `email`, `topicArn` and `topic`; with none, the alarms change state in the console only.
 *
 * @example
 * ```ts
 * alarms: { email: 'oncall@example.com', thresholds: { invalidClientCount: 100 } }
 * ```
 */
export interface AlarmsProps {
  /** Subscribe this address to a topic made for the alarms (AWS sends a confirmation e-mail). @default none */
  readonly email?: string;
  /** Or notify this existing SNS topic. @default none */
  readonly topicArn?: string;
  /** Or this topic of your app. @default none */
  readonly topic?: ITopic;
  /** When each alarm fires; the rest keep their defaults. @default DEFAULT_ALARM_THRESHOLDS */
  readonly thresholds?: Partial<AlarmThresholds>;
}

/**
 * CloudFront and a WAF in front of the API, which cannot take a WAF itself (lib/edge-protection.ts;
 * docs/deploy.md, "Edge protection"). The issuer becomes CloudFront's host, or the custom domain.
 *
 * @example
 * ```ts
 * // A stack outside us-east-1: the web ACL comes from an EdgeWebAcl in a us-east-1 stack.
 * edgeProtection: { webAclArn: edgeStack.webAcl.webAclArn, rateLimitPerIp: 600 }
 * ```
 */
export interface EdgeProtectionProps {
  /** Requests per client IP to POST /token in any 5-minute window before the WAF blocks it. @default 300 */
  readonly rateLimitPerIp?: number;
  /**
   * A CLOUDFRONT-scope web ACL made in us-east-1 (EdgeWebAcl): required when the stack is in
   * another region. @default one made in this stack, which must then be in us-east-1
   */
  readonly webAclArn?: string;
}

/**
 * How the authorization server is configured: the construct's props, and the content of a
 * `config/NAME.json` file (lib/environment-config.ts), where a Duration is a number of seconds.
 *
 * @example
 * ```ts
 * new XaaAuthorizationServer(stack, 'Auth', {
 *   trustedIssuers: [{ issuer: 'https://login.example.com', jwksUri: 'https://login.example.com/jwks' }],
 *   corsOrigins: ['https://app.example.com'],
 *   accessTokenLifetime: Duration.minutes(15),
 * });
 * ```
 */
export interface XaaAuthorizationServerProps {
  /** The IdPs whose ID-JAGs are accepted. Required, at least one: there is no default IdP. */
  readonly trustedIssuers: readonly TrustedIssuerProps[];
  /**
   * Browser origins (`scheme://host[:port]`) allowed to call discovery, JWKS and token
   * (CORS-ORIGINS): for a playground or a single-page app that talks to the server itself.
   * @default none
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Access-token lifetime for clients that set none (whole seconds).
   * @default Duration.hours(1)
   * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 (`exp`)
   */
  readonly accessTokenLifetime?: Duration;
  /**
   * Cap on any client's access-token lifetime (whole seconds); at least `accessTokenLifetime`.
   * @default the larger of 1 day and accessTokenLifetime
   */
  readonly maxAccessTokenLifetime?: Duration;
  /** Tolerance for `exp`, `nbf` and `iat` of ID-JAGs (whole seconds, 0 allowed). @default Duration.seconds(60) */
  readonly clockSkew?: Duration;
  /**
   * Scope values advertised as `scopes_supported` in the metadata (each an RFC 6749 scope-token).
   * @default none advertised
   * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
   */
  readonly scopesSupported?: readonly string[];
  /**
   * CIMD-POLICY: the rules that admit clients by their Client ID Metadata Document URL. The token
   * function fetches such documents (and clients' `jwks_uri`) through an outbound guard that
   * reaches only public https addresses. Discovery advertises `client_id_metadata_document_supported`
   * only when a rule exists.
   * @default none: only registered clients
   */
  readonly clientMetadataDocuments?: readonly ClientMetadataDocumentRule[];
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
  /**
   * Serve on your own host name, which becomes the issuer; the execute-api URL is switched off.
   * @default the execute-api endpoint is the issuer
   */
  readonly customDomain?: CustomDomainProps;
  /** The whole `$default` stage. @default 50 requests/s, burst 100 */
  readonly throttle?: ThrottleProps;
  /** `POST /token` alone. @default 10 requests/s, burst 20 */
  readonly tokenThrottle?: ThrottleProps;
  /** Retention of every log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What the stack keeps when deleted. @default the clients table and the audit logs are retained */
  readonly removalPolicies?: RemovalPolicies;
  /**
   * Re-attach a clients table kept from an earlier deployment (a `cdk destroy` retains it) instead
   * of creating one: docs/operations.md, "Coming back after a teardown". Give this or
   * `existingClientsTable`, not both.
   * @default a new table
   */
  readonly existingClientsTableName?: string;
  /** The same, as a table of your app (`Table.fromTableName`, or a table your stack owns). @default a new table */
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
  /** The token function's memory, timeout and concurrency. @default 512 MB, 10 s, no reservation */
  readonly tokenFunction?: TokenFunctionProps;
  /** A WAF with per-IP rate limits in front of the API (lib/edge-protection.ts). @default off */
  readonly edgeProtection?: boolean | EdgeProtectionProps;
}

/** A throttle with its defaults applied. */
export interface ResolvedThrottle {
  /** Steady requests per second. */
  readonly rateLimit: number;
  /** Burst, in requests. */
  readonly burstLimit: number;
}

/**
 * The props with their defaults applied, checked, plus the service variables the functions get
 * (`XaaAuthorizationServer.config`). Each field is the prop of the same name, resolved.
 */
export interface ResolvedServerProps {
  /** lambda/config.ts variables, ISSUER aside (known only once the API exists). */
  readonly serviceEnv: Readonly<Record<string, string>>;
  /** The origins as lambda/config.ts parsed them. */
  readonly corsOrigins: readonly string[];
  /** Each key with its signing mode filled in. */
  readonly signingKeys: readonly SigningKeyEntry[];
  /** Undefined without a custom domain. */
  readonly customDomain?: ResolvedCustomDomain;
  /** The whole stage. */
  readonly throttle: ResolvedThrottle;
  /** After `kmsRequestQuota`, when given. */
  readonly tokenThrottle: ResolvedThrottle;
  /** Of every log group. */
  readonly logRetention: RetentionDays;
  /** `removalPolicies.clientsTable`. */
  readonly clientsTableRemoval: RemovalPolicy;
  /** `removalPolicies.auditLogs`. */
  readonly auditLogsRemoval: RemovalPolicy;
  /** Undefined: a table is made, or `existingClientsTable` is used. */
  readonly existingClientsTableName?: string;
  /** Undefined: a table is made, or `existingClientsTableName` is used. */
  readonly existingClientsTable?: ITable;
  /** Undefined: the default prefix, named after the stack. */
  readonly clientSecretPrefix?: string;
  /** Undefined when the sample resource is off. */
  readonly sampleResource?: SampleResourceProps;
  /** Undefined when alarms are off. */
  readonly alarms?: AlarmsProps;
  /** Undefined when edge protection is off. */
  readonly edgeProtection?: EdgeProtectionProps;
  /** The token function's sizing. */
  readonly tokenFunction: ResolvedTokenFunction;
}

/** The custom domain, checked, with its certificate as an ARN either way. */
export interface ResolvedCustomDomain {
  /** The host name, and the issuer's. */
  readonly domainName: string;
  /** A deploy-time token when the certificate is a construct of the app. */
  readonly certificateArn: string;
  /** The certificate construct, when one was given rather than an ARN. */
  readonly certificate?: ICertificate;
  /** Undefined: no alias records are made. */
  readonly hostedZone?: IHostedZone | HostedZoneAttributes;
}

/** The token function's sizing with its defaults applied. */
export interface ResolvedTokenFunction {
  /** In MB. */
  readonly memorySize: number;
  /** At most 29 seconds. */
  readonly timeout: Duration;
  /** Undefined: no reservation. */
  readonly reservedConcurrency?: number;
  /** Undefined: no alias, API Gateway invokes the function itself. */
  readonly provisionedConcurrency?: number;
}

/** One key, `key-1`, active and in the kms mode. */
export const DEFAULT_SIGNING_KEYS: readonly SigningKeyEntry[] = [{ id: 'key-1', active: true }];
/** The stage's throttle when `throttle` is not given. */
export const DEFAULT_THROTTLE: ResolvedThrottle = { rateLimit: 50, burstLimit: 100 };
/** POST /token's throttle when `tokenThrottle` is not given. */
export const DEFAULT_TOKEN_THROTTLE: ResolvedThrottle = { rateLimit: 10, burstLimit: 20 };

/**
 * Checks the props and applies their defaults, before anything is built: the construct calls it
 * first, and configuration files are checked with it when loaded.
 *
 * @throws XaaConfigError naming the first prop that cannot be used
 */
export function resolveServerProps(props: XaaAuthorizationServerProps): ResolvedServerProps {
  const customDomain = props.customDomain && checkCustomDomain(props.customDomain);
  const ourIssuer = customDomain && `https://${customDomain.domainName}`;
  // lambda/config.ts puts a default IdP in place of a missing TRUSTED_ISSUERS, and takes an empty
  // list: the construct has no default, so this one check is its own.
  if (!Array.isArray(props.trustedIssuers) || props.trustedIssuers.length === 0)
    throw new XaaConfigError(
      'trustedIssuers',
      'is required: list at least one IdP ({ issuer, jwksUri }); there is no default',
    );
  checkLifetimeCap(props.accessTokenLifetime, props.maxAccessTokenLifetime);
  // Each entry becomes the variable's snake_case JSON as it is: lambda/config.ts checks it below and
  // names what it refuses by its place, which asPropError turns back into the prop's path. Only a
  // Duration, which the JSON holds as seconds, is checked here.
  const serviceEnv: Record<string, string> = {
    TRUSTED_ISSUERS: entriesJson(props.trustedIssuers, (t, i) => ({
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
      ...(t.defaultScope !== undefined && { default_scope: t.defaultScope }),
      ...(t.tenant !== undefined && { tenant: t.tenant }),
    })),
    ...(props.clientMetadataDocuments?.length && {
      CLIENT_METADATA_DOCUMENTS: entriesJson(props.clientMetadataDocuments, (r, i) => ({
        url_prefix: r.urlPrefix,
        scopes: r.scopes,
        resources: r.resources,
        ...(r.issuers !== undefined && { issuers: r.issuers }),
        ...(r.tokenLifetime !== undefined && {
          token_lifetime: seconds(`clientMetadataDocuments[${i}].tokenLifetime`, r.tokenLifetime),
        }),
        ...(r.dpopBoundRequired !== undefined && { dpop_bound_required: r.dpopBoundRequired }),
      })),
    }),
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
  // the real one is known only at deploy time, so a mistake stops the synth instead, named by the
  // prop it came from (asPropError).
  let corsOrigins: readonly string[];
  try {
    const issuer = ourIssuer ?? 'https://deploy-time.execute-api.amazonaws.com';
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
    ...(props.edgeProtection && {
      edgeProtection: checkEdgeProtection(
        props.edgeProtection === true ? {} : props.edgeProtection,
        customDomain,
      ),
    }),
    tokenFunction: checkTokenFunction(props.tokenFunction ?? {}),
  };
}

/** The prop each service variable is made from (ISSUER: from the custom domain, or the API's). */
const PROP_OF_VARIABLE: Readonly<Record<string, string>> = {
  TRUSTED_ISSUERS: 'trustedIssuers',
  CORS_ORIGINS: 'corsOrigins',
  ACCESS_TOKEN_TTL: 'accessTokenLifetime',
  MAX_ACCESS_TOKEN_TTL: 'maxAccessTokenLifetime',
  CLOCK_SKEW: 'clockSkew',
  SCOPES_SUPPORTED: 'scopesSupported',
  CLIENT_METADATA_DOCUMENTS: 'clientMetadataDocuments',
  ISSUER: 'customDomain',
};

/**
 * A refusal of lambda/config.ts in prop words: the variable becomes the prop it is made from and
 * the place in its JSON the prop's path (TRUSTED_ISSUERS, [0, 'jwks_uri'] →
 * `trustedIssuers[0].jwksUri`); the problem is the same.
 */
function asPropError(err: ConfigError): XaaConfigError {
  const key = err.path.reduce<string>(
    (at, step) =>
      typeof step === 'number'
        ? `${at}[${step}]`
        : `${at}.${step.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}`,
    PROP_OF_VARIABLE[err.variable] ?? err.variable,
  );
  return new XaaConfigError(key, err.problem, { cause: err });
}

/**
 * A list prop as its variable's JSON array, each entry through `toJson`; an entry that is no object
 * goes in as it is, for lambda/config.ts to refuse by its place.
 */
function entriesJson<T>(entries: readonly T[], toJson: (entry: T, i: number) => object): string {
  return JSON.stringify(
    entries.map((e, i) =>
      typeof e === 'object' && e !== null && !Array.isArray(e) ? toJson(e, i) : e,
    ),
  );
}

/** lambda/config.ts refuses a default lifetime above the cap; the cap defaults to fit it. */
function checkLifetimeCap(lifetime: Duration | undefined, cap: Duration | undefined): void {
  if (lifetime === undefined || cap === undefined) return;
  const given = seconds('accessTokenLifetime', lifetime);
  const max = seconds('maxAccessTokenLifetime', cap);
  if (given > max)
    throw new XaaConfigError(
      'accessTokenLifetime',
      `must not exceed maxAccessTokenLifetime (${max} seconds), got ${given}`,
    );
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
  checkNotificationTarget(alarms, 'alarms');
  resolveAlarmThresholds(alarms.thresholds, 'alarms.thresholds');
  return alarms;
}

function checkEdgeProtection(
  value: EdgeProtectionProps,
  customDomain: ResolvedCustomDomain | undefined,
): EdgeProtectionProps {
  const K = 'edgeProtection';
  if (value.rateLimitPerIp !== undefined)
    checkRateLimit(`${K}.rateLimitPerIp`, value.rateLimitPerIp);
  if (value.webAclArn !== undefined && typeof value.webAclArn !== 'string')
    throw new XaaConfigError(`${K}.webAclArn`, 'must be the ARN of a CLOUDFRONT-scope web ACL');
  // Behind CloudFront the custom domain is CloudFront's, and so is its certificate.
  if (customDomain) checkCloudFrontCertificate('customDomain.certificateArn', customDomain);
  return {
    ...(value.rateLimitPerIp !== undefined && { rateLimitPerIp: value.rateLimitPerIp }),
    ...(value.webAclArn !== undefined && { webAclArn: value.webAclArn }),
  };
}

/**
 * Lambda keeps this much of an account's concurrency unreserved, for every other function:
 * `tokenFunction.reservedConcurrency` may take at most the account's limit minus this.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 */
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
