/**
 * The authorization server as one construct, for any CDK stack: signing keys in KMS, clients in
 * DynamoDB and Secrets Manager, three route functions behind an HTTP API, an operator policy for
 * the admin CLI. Environment-agnostic: the region and account are the enclosing stack's.
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { Grant, IGrantable, ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import { Alias, type CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AaaaRecord,
  ARecord,
  HostedZone,
  RecordTarget,
  type IHostedZone,
} from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties, CloudFrontTarget } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { AWS_ENV } from '../lambda/cdk-shared/aws-config.js';
import { STACK_OUTPUTS } from '../lambda/cdk-shared/stack-outputs.js';
import { TOKEN_METRICS } from '../lambda/cdk-shared/token-metric-names.js';
import { PATHS, endpointUrl } from '../lambda/oauth/metadata.js';
import { AuthorizationServerApi } from './authorization-server-api.js';
import { ClientStore } from './client-store.js';
import { checkWebAclRegion, EdgeProtection } from './edge-protection.js';
import { Observability } from './observability.js';
import { OperatorPolicy } from './operator-policy.js';
import { environmentBytes, LAMBDA_ENVIRONMENT_MAX_BYTES, PublishedJwks } from './published-jwks.js';
import { RouteFunction } from './route-function.js';
import { nagResource } from './nag-resource.js';
import { SampleResource } from './sample-resource.js';
import {
  resolveServerProps,
  type AlarmsProps,
  type EdgeProtectionProps,
  type ResolvedCustomDomain,
  type ResolvedServerProps,
  type ResolvedTokenFunction,
  XaaConfigError,
  type XaaAuthorizationServerProps,
} from './server-props.js';
import { SigningKeys } from './signing-keys.js';

/** How the construct sits in its stack, beside the server's own props. */
export interface XaaAuthorizationServerOptions {
  /**
   * Add the stack outputs the admin CLI reads (IssuerUrl, ClientsTableName, ...) under their fixed
   * names. A stack can hold only one set: turn this off for a second server in the same stack.
   * @default true
   */
  readonly stackOutputs?: boolean;
}

const entry = (name: string) =>
  fileURLToPath(new URL(`../lambda/functions/${name}.ts`, import.meta.url));

/**
 * An OAuth authorization server for Cross App Access: it redeems ID-JAGs from the trusted IdPs
 * (JWT bearer grant) for its own RFC 9068 access tokens, and publishes its metadata and keys.
 *
 * @example
 * ```ts
 * const server = new XaaAuthorizationServer(this, 'AuthServer', {
 *   trustedIssuers: [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' }],
 * });
 * // Your API accepts its tokens for your resource:
 * api.addRoutes({
 *   path: '/items',
 *   methods: [HttpMethod.GET],
 *   integration,
 *   authorizer: server.jwtAuthorizer('Authorizer', 'https://api.example.com/'),
 *   authorizationScopes: ['read'],
 * });
 * ```
 * @see https://www.ietf.org/archive/id/draft-ietf-oauth-identity-assertion-authz-grant-04.html
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1 (the JWT bearer grant)
 * @see https://www.rfc-editor.org/rfc/rfc9068 (the access tokens)
 */
export class XaaAuthorizationServer extends Construct {
  /**
   * The issuer: `https://<customDomain>`, CloudFront's host behind edge protection, or the
   * execute-api endpoint (a deploy-time token). ID-JAGs must name it as their `aud`.
   * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
   */
  readonly issuer: string;
  /** Where resource servers get the keys that verify its access tokens. */
  readonly jwksUri: string;
  /** `POST` ID-JAGs here. @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2 */
  readonly tokenEndpoint: string;
  /** The KMS keys that sign access tokens, and their rotation state. */
  readonly signingKeys: SigningKeys;
  /** The client registry, the replay table and where the client secrets live. */
  readonly clients: ClientStore;
  /** The HTTP API, its stage, routes and access logs. */
  readonly api: AuthorizationServerApi;
  /** The route functions, each with its own role and log group. */
  readonly functions: {
    readonly discovery: RouteFunction;
    readonly jwks: RouteFunction;
    readonly token: RouteFunction;
  };
  /** Attach to the operator's role or group: what the admin CLI needs, nothing more. */
  readonly operatorPolicy: ManagedPolicy;
  private readonly operator: OperatorPolicy;
  /** The sample protected resource, when `sampleResource` is on. */
  readonly sampleResource?: SampleResource;
  /** Alarms and the dashboard, when `alarms` is on (lib/observability.ts). */
  readonly observability?: Observability;
  /** CloudFront and the WAF in front of the API, when `edgeProtection` is on. */
  readonly edgeProtection?: EdgeProtection;
  /** The props with their defaults applied. */
  readonly config: ResolvedServerProps;
  /**
   * What API Gateway invokes for POST /token: the token function, or its `live` alias when
   * provisioned concurrency is on.
   */
  readonly tokenHandler: IFunction;
  /** The A and AAAA alias records, when `customDomain.hostedZone` is given. */
  readonly aliasRecords?: readonly [ARecord, AaaaRecord];

  /** @throws XaaConfigError naming the prop, for props that cannot be used */
  constructor(
    scope: Construct,
    id: string,
    props: XaaAuthorizationServerProps & XaaAuthorizationServerOptions,
  ) {
    super(scope, id);
    const config = resolveServerProps(props);
    this.config = config;
    const stackName = Stack.of(this).stackName;

    this.signingKeys = new SigningKeys(this, 'SigningKeys', {
      keys: config.signingKeys,
      aliasPrefix: `alias/${stackName}/${this.node.id}/signing/`,
      logRetention: config.logRetention,
    });
    this.clients = new ClientStore(this, 'ClientStore', {
      clientsTableRemoval: config.clientsTableRemoval,
      ...(config.existingClientsTableName && {
        existingClientsTableName: config.existingClientsTableName,
      }),
      ...(config.existingClientsTable && { existingClientsTable: config.existingClientsTable }),
      ...(config.clientSecretPrefix && { secretPrefix: config.clientSecretPrefix }),
    });
    this.refuseSharedSecretPrefix();

    this.functions = this.routeFunctions(config, stackName);
    this.tokenHandler = this.sizeTokenFunction(this.functions.token, config.tokenFunction);
    this.grantRouteAccess(config.logRetention);

    this.api = this.httpApi(config);
    if (config.customDomain)
      this.checkCertificateRegion(config.customDomain, !!config.edgeProtection);
    if (config.edgeProtection)
      this.edgeProtection = this.protectEdge(config.edgeProtection, config);

    this.issuer = this.issuerUrl(config.customDomain);
    this.jwksUri = endpointUrl(this.issuer, PATHS.jwks);
    this.tokenEndpoint = endpointUrl(this.issuer, PATHS.token);
    for (const f of [this.functions.discovery, this.functions.token])
      f.function.addEnvironment('ISSUER', this.issuer);
    if (config.customDomain?.hostedZone)
      this.aliasRecords = this.createAliasRecords(config.customDomain);

    if (config.sampleResource)
      this.sampleResource = new SampleResource(this, 'SampleResource', {
        httpApi: this.api.httpApi,
        issuer: this.issuer,
        resource: config.sampleResource.resource ?? `${this.issuer}/`,
        logRetention: config.logRetention,
        entry: fileURLToPath(
          new URL('../lambda/example-resources/sample/lambda.ts', import.meta.url),
        ),
      });

    this.operator = new OperatorPolicy(this, 'Operator', {
      clientsTable: this.clients.clientsTable,
      secretArnPattern: this.clients.secretArnPattern(),
    });
    this.operatorPolicy = this.operator.policy;

    if (config.alarms) this.observability = this.observe(config.alarms, stackName);

    if (props.stackOutputs !== false) this.outputs();
    this.acknowledgeNagFindings();
    this.node.addValidation({ validate: () => this.environmentsThatDoNotFit() });
  }

  /**
   * An HTTP API JWT authorizer that accepts this server's access tokens for `audience` (the
   * resource identifier clients ask for), for your own routes: API Gateway verifies the signature
   * against our JWKS, `iss`, `aud` and the lifetime; pass `authorizationScopes` on each route.
   *
   * @param id - the authorizer's id in the API
   * @param audience - the resource identifier (or several) a token must carry as `aud`
   * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 (resource indicators)
   * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
   */
  jwtAuthorizer(id: string, audience: string | readonly string[]): HttpJwtAuthorizer {
    return new HttpJwtAuthorizer(id, this.issuer, {
      jwtAudience: typeof audience === 'string' ? [audience] : [...audience],
      identitySource: ['$request.header.Authorization'],
    });
  }

  /** Lambda refuses a function whose variables exceed 4 KB: say so at synth, not mid-deploy. */
  private environmentsThatDoNotFit(): string[] {
    const { discovery, token } = this.functions;
    return [discovery, token].flatMap((f) => {
      const bytes = environmentBytes(f.function.node.defaultChild as CfnFunction);
      return bytes <= LAMBDA_ENVIRONMENT_MAX_BYTES
        ? []
        : [
            `${f.node.path}: its environment variables take about ${bytes} bytes, over Lambda's ` +
              `${LAMBDA_ENVIRONMENT_MAX_BYTES}; the trusted issuers' list and the client metadata document rules are most of it: shorten or split them`,
          ];
    });
  }

  /**
   * Lets `grantee` register, change and remove clients as the admin CLI does (its `--stack`
   * commands): the operator policy's statements, nothing more.
   */
  grantClientAdministration(grantee: IGrantable): Grant {
    return this.operator.grantTo(grantee);
  }

  /** Lets `grantee` read client registrations (not their secrets), e.g. for a reporting job. */
  grantReadClients(grantee: IGrantable): Grant {
    return this.clients.clientsTable.grantReadData(grantee);
  }

  /**
   * Token requests answered, each once, whatever the outcome (the token function's EMF metric).
   *
   * @example
   * ```ts
   * new Alarm(this, 'NoTokens', {
   *   metric: server.metricTokensIssued({ period: Duration.hours(1) }),
   *   threshold: 1,
   *   comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
   *   evaluationPeriods: 1,
   * });
   * ```
   */
  metricTokenRequests(props?: MetricOptions): Metric {
    return this.tokenMetric(TOKEN_METRICS.requests, props);
  }

  /** Access tokens issued (the token function's EMF metric). */
  metricTokensIssued(props?: MetricOptions): Metric {
    return this.tokenMetric(TOKEN_METRICS.issued, props);
  }

  /**
   * Token requests refused with one OAuth `error` and reason code (lambda/oauth/errors.ts REASONS),
   * e.g. `invalid_client` / `client_secret_mismatch`. Each series carries both dimensions.
   */
  metricTokenRequestsRefused(error: string, reason: string, props?: MetricOptions): Metric {
    return this.tokenMetric(TOKEN_METRICS.refused, {
      ...props,
      dimensionsMap: {
        ...props?.dimensionsMap,
        [TOKEN_METRICS.errorDimension]: error,
        [TOKEN_METRICS.reasonDimension]: reason,
      },
    });
  }

  /** POST /token latency as API Gateway measures it (milliseconds, p99 unless told otherwise). */
  metricTokenLatency(props?: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName: 'Latency',
      statistic: 'p99',
      period: Duration.minutes(5),
      ...props,
      dimensionsMap: {
        ApiId: this.api.httpApi.apiId,
        Stage: this.api.stage.stageName,
        Method: 'POST',
        Resource: PATHS.token,
        ...props?.dimensionsMap,
      },
    });
  }

  private tokenMetric(metricName: string, props?: MetricOptions): Metric {
    return new Metric({
      namespace: Stack.of(this).stackName,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
      dimensionsMap: { service: TOKEN_METRICS.serviceName, ...props?.dimensionsMap },
    });
  }

  /**
   * Discovery (with /authorize), JWKS and token, each with only the variables it reads. The issuer
   * is not among them yet: for the execute-api host it is known only once the API exists.
   */
  private routeFunctions(
    config: ResolvedServerProps,
    stackName: string,
  ): XaaAuthorizationServer['functions'] {
    const environment: Record<string, string> = { ...config.serviceEnv };
    const common = { logRetention: config.logRetention };
    const discovery = new RouteFunction(this, 'DiscoveryFunction', {
      ...common,
      entry: entry('discovery'),
      description: 'Authorization server metadata (RFC 8414 and OpenID discovery)',
      environment,
      timeout: Duration.seconds(5),
    });
    // Only what it serves: its 4 KB of variables are the published keys' room (lib/published-jwks.ts).
    const jwks = new RouteFunction(this, 'JwksFunction', {
      ...common,
      entry: entry('jwks'),
      description: 'Public signing keys (JWKS)',
      environment: { CORS_ORIGINS: environment.CORS_ORIGINS! },
      timeout: Duration.seconds(5),
    });
    const token = new RouteFunction(this, 'TokenFunction', {
      ...common,
      entry: entry('token'),
      description: 'Token endpoint: redeems ID-JAGs for access tokens',
      memorySize: config.tokenFunction.memorySize,
      timeout: config.tokenFunction.timeout,
      // The audit trail: who got a token, or why not.
      logRemovalPolicy: config.auditLogsRemoval,
      environment: {
        ...environment,
        [AWS_ENV.clientsTable]: this.clients.clientsTable.tableName,
        [AWS_ENV.replayTable]: this.clients.replayTable.tableName,
        [AWS_ENV.secretPrefix]: this.clients.secretPrefix,
        [AWS_ENV.signingKey]: this.signingKeys.active.keyArn,
        ...this.signingKeys.tokenEnvironment(),
        [AWS_ENV.metricsNamespace]: stackName,
        // Lambda sets LOG_ERROR, which overrides Powertools' own default: with it, the warm-up
        // calls made during init (no trace context yet) log an error with a stack trace on every
        // cold start. Unreserved, so the function's configuration may set it.
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      },
    });
    return { discovery, jwks, token };
  }

  /**
   * Least privilege, route by route: discovery gets nothing beyond its logs. The KMS grants are
   * in the keys' policies (lib/signing-keys.ts): IAM alone cannot grant them.
   */
  private grantRouteAccess(logRetention: RetentionDays): void {
    const { token, jwks } = this.functions;
    this.signingKeys.grantSign(token.role);
    // GetPublicKey on the active key gives the signer its kid (the key's RFC 7638 thumbprint).
    this.signingKeys.grantPublicKeyRead(token.role);
    this.clients.grantTokenFunction(token.role);
    this.publishJwks(jwks, logRetention);
  }

  private httpApi(config: ResolvedServerProps): AuthorizationServerApi {
    return new AuthorizationServerApi(this, 'Api', {
      discovery: this.functions.discovery.function,
      jwks: this.functions.jwks.function,
      token: this.tokenHandler,
      corsOrigins: config.corsOrigins,
      throttle: config.throttle,
      tokenThrottle: config.tokenThrottle,
      logRetention: config.logRetention,
      accessLogsRemovalPolicy: config.auditLogsRemoval,
      // Behind edge protection the custom domain is CloudFront's, and the execute-api endpoint
      // stays on as CloudFront's origin (closed to anyone else by the origin check).
      ...(config.customDomain && !config.edgeProtection && { customDomain: config.customDomain }),
    });
  }

  /** CloudFront and the WAF in front of the API; the props were checked with the rest. */
  private protectEdge(edge: EdgeProtectionProps, config: ResolvedServerProps): EdgeProtection {
    // Only the stack knows its region: a web ACL made here must be made in us-east-1.
    if (edge.webAclArn === undefined) checkWebAclRegion(this, 'edgeProtection.webAclArn');
    return new EdgeProtection(this, 'EdgeProtection', {
      httpApi: this.api.httpApi,
      routes: this.api.routes,
      logRetention: config.logRetention,
      ...(edge.rateLimitPerIp !== undefined && { rateLimitPerIp: edge.rateLimitPerIp }),
      ...(edge.webAclArn !== undefined && { webAclArn: edge.webAclArn }),
      ...(config.customDomain && { customDomain: config.customDomain }),
    });
  }

  /**
   * The $default stage has no path, so the execute-api endpoint itself is a path-less issuer;
   * behind edge protection the issuer is CloudFront's host (or the custom domain on it).
   */
  private issuerUrl(customDomain: ResolvedCustomDomain | undefined): string {
    if (this.edgeProtection) return this.edgeProtection.url;
    if (customDomain) return `https://${customDomain.domainName}`;
    return this.api.httpApi.apiEndpoint;
  }

  private observe(alarms: AlarmsProps, metricsNamespace: string): Observability {
    const { discovery, jwks, token } = this.functions;
    return new Observability(this, 'Observability', {
      functions: { discovery: discovery.function, jwks: jwks.function, token: token.function },
      httpApi: this.api.httpApi,
      stage: this.api.stage,
      accessLogs: this.api.accessLogs,
      metricsNamespace,
      ...(alarms.email !== undefined && { email: alarms.email }),
      ...(alarms.topicArn !== undefined && { topicArn: alarms.topicArn }),
      ...(alarms.topic !== undefined && { topic: alarms.topic }),
      ...(alarms.thresholds !== undefined && { thresholds: alarms.thresholds }),
    });
  }

  /**
   * Memory and timeout go to the function itself; reserved concurrency caps it and keeps its
   * share of the account's pool; provisioned concurrency needs a version, so API Gateway then
   * invokes an alias of the current one.
   */
  private sizeTokenFunction(token: RouteFunction, sizing: ResolvedTokenFunction): IFunction {
    if (sizing.reservedConcurrency !== undefined)
      (token.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions =
        sizing.reservedConcurrency;
    if (sizing.provisionedConcurrency === undefined) return token.function;
    return new Alias(this, 'TokenFunctionLive', {
      aliasName: 'live',
      version: token.function.currentVersion,
      provisionedConcurrentExecutions: sizing.provisionedConcurrency,
    });
  }

  /**
   * A regional API needs its certificate in the stack's region, CloudFront one in us-east-1; known
   * at synth time only when both the ARN and the stack's region are (a pinned `env`).
   */
  private checkCertificateRegion(domain: ResolvedCustomDomain, edge: boolean): void {
    const region = Stack.of(this).region;
    const arn = domain.certificateArn;
    if (edge || Token.isUnresolved(arn) || Token.isUnresolved(region)) return;
    const certificateRegion = arn.split(':')[3];
    if (certificateRegion !== region)
      throw new XaaConfigError(
        'customDomain.certificateArn',
        `the certificate is in ${certificateRegion}, the API in ${region}: an HTTP API's custom ` +
          "domain needs an ACM certificate in the stack's own region",
      );
  }

  /** `domainName` → the API's regional domain (or CloudFront), IPv4 and IPv6. */
  private createAliasRecords(domain: ResolvedCustomDomain): readonly [ARecord, AaaaRecord] {
    const given = domain.hostedZone!;
    const zone = Construct.isConstruct(given)
      ? (given as IHostedZone)
      : HostedZone.fromHostedZoneAttributes(this, 'HostedZone', given);
    const target = this.edgeProtection
      ? RecordTarget.fromAlias(new CloudFrontTarget(this.edgeProtection.distribution))
      : RecordTarget.fromAlias(
          new ApiGatewayv2DomainProperties(
            this.api.domainName!.regionalDomainName,
            this.api.domainName!.regionalHostedZoneId,
          ),
        );
    const record = { zone, recordName: `${domain.domainName}.`, target };
    return [
      new ARecord(this, 'AliasRecord', record),
      new AaaaRecord(this, 'AliasRecordIpv6', record),
    ];
  }

  /**
   * A token role may read every secret under its server's prefix: two servers of one stack on the
   * same prefix, or on prefixes one of which begins the other, could read each other's clients'
   * secrets. Known prefixes are compared; one known only at deploy time cannot be.
   */
  private refuseSharedSecretPrefix(): void {
    const mine = this.clients.secretPrefix;
    if (Token.isUnresolved(mine)) return;
    for (const other of Stack.of(this).node.findAll()) {
      if (other === this || !(other instanceof XaaAuthorizationServer)) continue;
      const theirs = other.clients.secretPrefix;
      if (Token.isUnresolved(theirs)) continue;
      if (mine.startsWith(theirs) || theirs.startsWith(mine))
        throw new XaaConfigError(
          'clientSecretPrefix',
          `${this.node.path} would share client secrets with ${other.node.path} (prefixes ` +
            `${JSON.stringify(mine)} and ${JSON.stringify(theirs)}): give each server its own ` +
            'clientSecretPrefix, neither beginning the other',
        );
    }
  }

  /**
   * Extension point: how the JWKS function gets its keys. Published at deploy time (JWKS-KEYS) by
   * a custom resource whose role is the one principal, besides the signer, that the keys' policies
   * let read a public key; the JWKS function itself has no KMS access.
   */
  private publishJwks(jwks: RouteFunction, logRetention: RetentionDays): void {
    const published = new PublishedJwks(this, 'PublishedJwks', {
      keys: this.signingKeys.kmsSigned,
      publicJwks: this.signingKeys.publicJwks(),
      jwksFunction: jwks.function,
      logRetention,
    });
    this.signingKeys.grantPublicKeyRead(published.publisherRole);
  }

  private outputs(): void {
    const out = (id: string, value: string, description: string) =>
      // Fixed names: the admin CLI finds a deployment's resources by these keys.
      new CfnOutput(this, id, { value, description }).overrideLogicalId(id);
    out(
      STACK_OUTPUTS.issuer,
      this.issuer,
      'The issuer: enter it in the xaa.dev playground as the authorization server',
    );
    out(
      STACK_OUTPUTS.clientsTable,
      this.clients.clientsTable.tableName,
      'DynamoDB table of registered clients (kept when the stack is deleted)',
    );
    out(
      STACK_OUTPUTS.replayTable,
      this.clients.replayTable.tableName,
      'DynamoDB table of redeemed assertion ids',
    );
    out(
      STACK_OUTPUTS.secretPrefix,
      this.clients.secretPrefix,
      'Name prefix of the client secrets in Secrets Manager',
    );
    out(
      STACK_OUTPUTS.activeSigningKey,
      this.signingKeys.active.keyArn,
      'The KMS key that signs access tokens (kms mode), or wraps the key that does (wrapped-key mode)',
    );
    // The admin judges clients and assertions by what the token function runs with (never a
    // secret: serviceEnv holds none). CloudFormation caps an output at 4096 characters: a longer
    // one is left out, and the admin then says it fell back to the operator's environment.
    const serviceEnvironment = JSON.stringify(this.config.serviceEnv);
    if (serviceEnvironment.length <= 4096)
      out(
        STACK_OUTPUTS.serviceEnvironment,
        serviceEnvironment,
        "The token function's service settings (no secrets), for the admin CLI",
      );
    out(
      STACK_OUTPUTS.operatorPolicy,
      this.operatorPolicy.managedPolicyArn,
      "IAM managed policy for the admin CLI: attach it to the operator's role",
    );
    // Behind edge protection the custom domain points at CloudFront, not at API Gateway.
    const domainTarget =
      this.edgeProtection && this.config.customDomain
        ? this.edgeProtection.distribution.distributionDomainName
        : this.api.domainName?.regionalDomainName;
    const domainZone =
      this.edgeProtection && this.config.customDomain
        ? CloudFrontTarget.getHostedZoneId(this)
        : this.api.domainName?.regionalHostedZoneId;
    if (domainTarget && domainZone) {
      out(
        STACK_OUTPUTS.customDomainTarget,
        domainTarget,
        'Point the custom domain (CNAME or alias) here',
      );
      out(
        STACK_OUTPUTS.customDomainHostedZoneId,
        domainZone,
        'The hosted zone of CustomDomainTarget, for a Route 53 alias record',
      );
    }
  }

  /** Every cdk-nag AwsSolutions finding this construct accepts, each with the reason it is accepted. */
  private acknowledgeNagFindings(): void {
    const nag = (id: string) => `AwsSolutions::AwsSolutions-${id}`;
    const stack = Stack.of(this);
    const secrets = `IAM5[Resource::${nagResource(stack, this.clients.secretArnPattern())}]`;
    const secretsReason =
      'Client secrets are created after deployment by the admin CLI, one per client, under a name prefix owned by this ' +
      'stack; Secrets Manager appends a random suffix to every secret ARN, so the grant is the prefix plus a wildcard.';
    Validations.of(this.functions.token.role).acknowledge({
      id: nag(secrets),
      reason: secretsReason,
    });
    Validations.of(this.operatorPolicy).acknowledge({ id: nag(secrets), reason: secretsReason });
    Validations.of(this.operatorPolicy).acknowledge({
      id: nag(`IAM5[Resource::${nagResource(stack, this.operator.stackArnPattern)}]`),
      reason:
        "A stack's ARN ends in an id CloudFormation assigns at creation: the stack name plus a wildcard is this stack " +
        '(and its successor after a teardown), for DescribeStacks only.',
    });
    for (const route of [...this.api.routes, ...(this.sampleResource?.publicRoutes ?? [])]) {
      Validations.of(route).acknowledge({
        id: nag('APIG4'),
        reason:
          'Public OAuth endpoints: discovery, JWKS and protected-resource metadata are public by design (RFC 8414, RFC 9728, ' +
          'DISC-PATHS, JWKS-KEYS), and the token endpoint authenticates each client itself (AUTH-REQUIRED).',
      });
    }
  }
}
