/**
 * The HTTP API in front of the route functions (the five routes of docs/spec.md): the routes, a $default
 * stage with a stage-wide throttle and a tighter one on POST /token, JSON access logs, CORS for the
 * configured origins, and optionally a custom domain.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type CfnStage,
  type HttpRoute,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PATHS } from '../lambda/oauth/metadata.js';
import type { ResolvedCustomDomain, ResolvedThrottle } from './server-props.js';
import { CORS_POLICY } from '../lambda/cdk-shared/cors-policy.js';

export interface AuthorizationServerApiProps {
  readonly discovery: IFunction;
  readonly jwks: IFunction;
  readonly token: IFunction;
  readonly corsOrigins: readonly string[];
  readonly throttle: ResolvedThrottle;
  readonly tokenThrottle: ResolvedThrottle;
  readonly logRetention: RetentionDays;
  /** The access logs are part of the audit trail. @default DESTROY */
  readonly accessLogsRemovalPolicy?: RemovalPolicy;
  readonly customDomain?: ResolvedCustomDomain;
}

/** Request metadata only: no header, query string or body, so no credential can reach the log. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
};

const TOKEN_ROUTE_KEY = `POST ${PATHS.token}`;

/** The HTTP API: the discovery, authorize, JWKS and token routes on one `$default` stage. */
export class AuthorizationServerApi extends Construct {
  /** The API itself: add your own routes to it, or put it behind your own domain. */
  readonly httpApi: HttpApi;
  /** The `$default` stage, with its throttles and access log. */
  readonly stage: HttpStage;
  /** The access log: request metadata only, never a header or a body. */
  readonly accessLogs: LogGroup;
  /** The authorization server's routes (the sample resource's are its own). */
  readonly routes: readonly HttpRoute[];
  /** The custom domain, when one is served directly (not behind edge protection). */
  readonly domainName?: DomainName;

  constructor(scope: Construct, id: string, props: AuthorizationServerApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Cross App Access authorization server: discovery, JWKS and token endpoint',
      // The stage is declared below, with its throttling and access logs.
      createDefaultStage: false,
      // With a custom domain the issuer is that domain: a second host name serving the same
      // metadata under another issuer would only confuse resource servers.
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      // API Gateway answers preflights itself and sets the CORS headers for these origins.
      ...(props.corsOrigins.length > 0 && {
        corsPreflight: {
          allowOrigins: [...props.corsOrigins],
          allowMethods: [...CORS_POLICY.allowMethods, 'OPTIONS'].map((m) => m as CorsHttpMethod),
          allowHeaders: [...CORS_POLICY.allowHeaders],
          // DPOP-NONCE: API Gateway sets the CORS headers here, not the function's.
          exposeHeaders: [...CORS_POLICY.exposeHeaders],
          maxAge: Duration.seconds(CORS_POLICY.maxAgeSeconds),
        },
      }),
    });

    const discovery = new HttpLambdaIntegration('DiscoveryIntegration', props.discovery);
    const route = (path: string, method: HttpMethod, integration: HttpLambdaIntegration) =>
      this.httpApi.addRoutes({ path, methods: [method], integration });
    const tokenRoutes = route(
      PATHS.token,
      HttpMethod.POST,
      new HttpLambdaIntegration('TokenIntegration', props.token),
    );
    this.routes = [
      ...route(PATHS.oauthMetadata, HttpMethod.GET, discovery),
      ...route(PATHS.openidConfiguration, HttpMethod.GET, discovery),
      // DISC-AUTHZ-ENDPOINT: every method gets the same error, from the small discovery function.
      ...route(PATHS.authorize, HttpMethod.ANY, discovery),
      ...route(
        PATHS.jwks,
        HttpMethod.GET,
        new HttpLambdaIntegration('JwksIntegration', props.jwks),
      ),
      ...tokenRoutes,
    ];

    if (props.customDomain) {
      this.domainName = new DomainName(this, 'CustomDomain', {
        domainName: props.customDomain.domainName,
        certificate:
          props.customDomain.certificate ??
          Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
      });
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.accessLogsRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      ...(this.domainName && { domainMapping: { domainName: this.domainName } }),
    });
    // The L2 stage has no per-route settings. RouteSettings is untyped JSON on the L1, which CDK
    // passes through as written: the keys must already be CloudFormation's PascalCase.
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.addPropertyOverride('RouteSettings', {
      [TOKEN_ROUTE_KEY]: {
        ThrottlingRateLimit: props.tokenThrottle.rateLimit,
        ThrottlingBurstLimit: props.tokenThrottle.burstLimit,
      },
    });
    // Route settings name a route key that must already exist when the stage is created.
    for (const r of tokenRoutes) cfnStage.node.addDependency(r);
  }
}
