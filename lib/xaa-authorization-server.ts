/**
 * The authorization server as one construct, for any CDK stack: signing keys in KMS, clients in
 * DynamoDB and Secrets Manager, three route functions behind an HTTP API, an operator policy for
 * the admin CLI. Environment-agnostic: the region and account are the enclosing stack's.
 *
 *   const server = new XaaAuthorizationServer(this, 'AuthServer', {
 *     trustedIssuers: [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' }],
 *   });
 *   api.addRoutes({ ..., authorizer: server.jwtAuthorizer('Authorizer', 'https://api.example.com/') });
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
import { AWS_ENV } from '../lambda/aws/aws-config.js';
import { STACK_OUTPUTS } from '../lambda/aws/stack-outputs.js';
import { TOKEN_METRICS } from '../lambda/aws/token-metric-names.js';
import { PATHS, endpointUrl } from '../lambda/oauth/metadata.js';
import { AuthorizationServerApi } from './authorization-server-api.js';
import { ClientStore } from './client-store.js';
import { EdgeProtection } from './edge-protection.js';
import { Observability } from './observability.js';
import { OperatorPolicy } from './operator-policy.js';
import { environmentBytes, LAMBDA_ENVIRONMENT_MAX_BYTES, PublishedJwks } from './published-jwks.js';
import { RouteFunction } from './route-function.js';
import { nagResource } from './nag-resource.js';
import { SampleResource } from './sample-resource.js';
import {
  resolveServerProps,
  type ResolvedCustomDomain,
  type ResolvedServerProps,
  type ResolvedTokenFunction,
  XaaConfigError,
  type XaaAuthorizationServerProps,
} from './server-props.js';
import { SigningKeys } from './signing-keys.js';

export interface XaaAuthorizationServerOptions {
  /**
   * Add the stack outputs the admin CLI reads (IssuerUrl, ClientsTableName, ...) under their fixed
   * names. A stack can hold only one set: turn this off for a second server in the same stack.
   * @default true
   */
  readonly stackOutputs?: boolean;
}

const entry = (name: string) =>
  fileURLToPath(new URL(`../lambda/aws/entries/${name}.ts`, import.meta.url));

export class XaaAuthorizationServer extends Construct {
  /** The issuer: `https://<customDomain>` or the execute-api endpoint (a deploy-time token). */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly signingKeys: SigningKeys;
  readonly clients: ClientStore;
  readonly api: AuthorizationServerApi;
  readonly functions: {
    readonly discovery: RouteFunction;
    readonly jwks: RouteFunction;
    readonly token: RouteFunction;
  };
  /** Attach to the operator's role or group: what the admin CLI needs, nothing more. */
  readonly operatorPolicy: ManagedPolicy;
  private readonly operator: OperatorPolicy;
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

    // The functions need the issuer, which for the execute-api host is known only once the API
    // exists: it is added to their environment after the API is built (see below).
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
    this.functions = { discovery, jwks, token };
    this.tokenHandler = this.sizeTokenFunction(token, config.tokenFunction);

    // Least privilege, route by route: discovery gets nothing beyond its logs. The KMS grants are
    // in the keys' policies (lib/signing-keys.ts): IAM alone cannot grant them.
    this.signingKeys.grantSign(token.role);
    // GetPublicKey on the active key gives the signer its kid (the key's RFC 7638 thumbprint).
    this.signingKeys.grantPublicKeyRead(token.role);
    this.clients.grantTokenFunction(token.role);
    this.publishJwks(jwks, config.logRetention);

    this.api = new AuthorizationServerApi(this, 'Api', {
      discovery: discovery.function,
      jwks: jwks.function,
      token: this.tokenHandler,
      corsOrigins: config.corsOrigins,
      throttle: config.throttle,
      tokenThrottle: config.tokenThrottle,
      logRetention: config.logRetention,
      accessLogsRemovalPolicy: config.auditLogsRemoval,
      // Behind edge protection the custom domain is CloudFront's, and the execute-api endpoint
      // stays on as CloudFront's origin (closed to anyone else by the origin check).
      ...(config.customDomain && !props.edgeProtection && { customDomain: config.customDomain }),
    });
    if (config.customDomain)
      this.checkCertificateRegion(config.customDomain, !!props.edgeProtection);

    if (props.edgeProtection) {
      const edge = props.edgeProtection === true ? {} : props.edgeProtection;
      try {
        this.edgeProtection = new EdgeProtection(this, 'EdgeProtection', {
          httpApi: this.api.httpApi,
          routes: this.api.routes,
          logRetention: config.logRetention,
          ...(edge.rateLimitPerIp !== undefined && { rateLimitPerIp: edge.rateLimitPerIp }),
          ...(edge.webAclArn !== undefined && { webAclArn: edge.webAclArn }),
          ...(config.customDomain && { customDomain: config.customDomain }),
        });
      } catch (err) {
        // Name the prop, as every other configuration mistake does.
        if (!(err instanceof XaaConfigError)) throw err;
        // The prop's keys are relative to edgeProtection, except the custom domain it is given.
        throw err.key.startsWith('customDomain')
          ? err
          : new XaaConfigError(`edgeProtection.${err.key}`, err.problem);
      }
    }

    // The $default stage has no path, so the execute-api endpoint itself is a path-less issuer;
    // behind edge protection the issuer is CloudFront's host (or the custom domain on it).
    this.issuer = this.edgeProtection
      ? this.edgeProtection.url
      : config.customDomain
        ? `https://${config.customDomain.domainName}`
        : this.api.httpApi.apiEndpoint;
    this.jwksUri = endpointUrl(this.issuer, PATHS.jwks);
    this.tokenEndpoint = endpointUrl(this.issuer, PATHS.token);
    for (const f of [discovery, token]) f.function.addEnvironment('ISSUER', this.issuer);
    if (config.customDomain?.hostedZone)
      this.aliasRecords = this.createAliasRecords(config.customDomain);

    if (config.sampleResource) {
      this.sampleResource = new SampleResource(this, 'SampleResource', {
        httpApi: this.api.httpApi,
        issuer: this.issuer,
        resource: config.sampleResource.resource ?? `${this.issuer}/`,
        logRetention: config.logRetention,
        entry: fileURLToPath(new URL('../lambda/sample-resource/lambda.ts', import.meta.url)),
      });
    }

    this.operator = new OperatorPolicy(this, 'Operator', {
      clientsTable: this.clients.clientsTable,
      secretArnPattern: this.clients.secretArnPattern(),
    });
    this.operatorPolicy = this.operator.policy;

    if (config.alarms) {
      const alarms = config.alarms;
      this.observability = new Observability(this, 'Observability', {
        functions: { discovery: discovery.function, jwks: jwks.function, token: token.function },
        httpApi: this.api.httpApi,
        stage: this.api.stage,
        accessLogs: this.api.accessLogs,
        metricsNamespace: stackName,
        ...(alarms.email !== undefined && { email: alarms.email }),
        ...(alarms.topicArn !== undefined && { topicArn: alarms.topicArn }),
        ...(alarms.topic !== undefined && { topic: alarms.topic }),
        ...(alarms.thresholds !== undefined && { thresholds: alarms.thresholds }),
      });
    }

    if (props.stackOutputs !== false) this.outputs();
    this.acknowledgeNagFindings();
    this.node.addValidation({ validate: () => this.environmentsThatDoNotFit() });
  }

  /**
   * An HTTP API JWT authorizer that accepts this server's access tokens for `audience` (the
   * resource identifier clients ask for), for your own routes: API Gateway verifies the signature
   * against our JWKS, `iss`, `aud` and the lifetime; pass `authorizationScopes` on each route.
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
              `${LAMBDA_ENVIRONMENT_MAX_BYTES}; the trusted issuers' list is most of it: shorten or split it`,
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

  /** Lets `grantee` read client registrations (not their secrets). */
  grantReadClients(grantee: IGrantable): Grant {
    return this.clients.clientsTable.grantReadData(grantee);
  }

  /** Token requests answered, each once, whatever the outcome (the token function's EMF metric). */
  metricTokenRequests(props?: MetricOptions): Metric {
    return this.tokenMetric(TOKEN_METRICS.requests, props);
  }

  /** Access tokens issued. */
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
