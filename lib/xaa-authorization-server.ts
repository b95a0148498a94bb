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
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AWS_ENV } from '../lambda/aws/aws-config.js';
import { STACK_OUTPUTS } from '../lambda/aws/stack-outputs.js';
import { PATHS, endpointUrl } from '../lambda/oauth/metadata.js';
import { AuthorizationServerApi } from './authorization-server-api.js';
import { ClientStore } from './client-store.js';
import { EdgeProtection } from './edge-protection.js';
import { Observability } from './observability.js';
import { OperatorPolicy } from './operator-policy.js';
import { PublishedJwks } from './published-jwks.js';
import { RouteFunction } from './route-function.js';
import { SampleResource } from './sample-resource.js';
import {
  resolveServerProps,
  type ResolvedServerProps,
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
  readonly sampleResource?: SampleResource;
  /** Alarms and the dashboard, when `alarms` is on (lib/observability.ts). */
  readonly observability?: Observability;
  /** CloudFront and the WAF in front of the API, when `edgeProtection` is on. */
  readonly edgeProtection?: EdgeProtection;
  /** The props with their defaults applied. */
  readonly config: ResolvedServerProps;

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
    });
    this.clients = new ClientStore(this, 'ClientStore', {
      clientsTableRemoval: config.clientsTableRemoval,
      ...(config.existingClientsTableName && {
        existingClientsTableName: config.existingClientsTableName,
      }),
      ...(config.clientSecretPrefix && { secretPrefix: config.clientSecretPrefix }),
    });

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
    const jwks = new RouteFunction(this, 'JwksFunction', {
      ...common,
      entry: entry('jwks'),
      description: 'Public signing keys (JWKS)',
      environment: { ...environment },
      timeout: Duration.seconds(5),
    });
    const token = new RouteFunction(this, 'TokenFunction', {
      ...common,
      entry: entry('token'),
      description: 'Token endpoint: redeems ID-JAGs for access tokens',
      // The audit trail: who got a token, or why not.
      logRemovalPolicy: config.auditLogsRemoval,
      environment: {
        ...environment,
        [AWS_ENV.clientsTable]: this.clients.clientsTable.tableName,
        [AWS_ENV.replayTable]: this.clients.replayTable.tableName,
        [AWS_ENV.secretPrefix]: this.clients.secretPrefix,
        [AWS_ENV.signingKey]: this.signingKeys.active.keyArn,
        [AWS_ENV.metricsNamespace]: stackName,
      },
    });
    this.functions = { discovery, jwks, token };

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
      token: token.function,
      corsOrigins: config.corsOrigins,
      throttle: config.throttle,
      tokenThrottle: config.tokenThrottle,
      logRetention: config.logRetention,
      accessLogsRemovalPolicy: config.auditLogsRemoval,
      // Behind edge protection the custom domain is CloudFront's, and the execute-api endpoint
      // stays on as CloudFront's origin (closed to anyone else by the origin check).
      ...(config.customDomain && !props.edgeProtection && { customDomain: config.customDomain }),
    });

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
        throw new XaaConfigError('edgeProtection', (err as Error).message);
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
    for (const f of [discovery, jwks, token]) f.function.addEnvironment('ISSUER', this.issuer);

    if (config.sampleResource) {
      this.sampleResource = new SampleResource(this, 'SampleResource', {
        httpApi: this.api.httpApi,
        issuer: this.issuer,
        resource: config.sampleResource.resource ?? `${this.issuer}/`,
        logRetention: config.logRetention,
        entry: fileURLToPath(new URL('../lambda/sample-resource/lambda.ts', import.meta.url)),
      });
    }

    this.operatorPolicy = new OperatorPolicy(this, 'Operator', {
      clientsTable: this.clients.clientsTable,
      secretArnPattern: this.clients.secretArnPattern(),
    }).policy;

    if (props.alarms) {
      const alarms = props.alarms === true ? {} : props.alarms;
      if (alarms.email !== undefined && alarms.topicArn !== undefined)
        throw new XaaConfigError('alarms', 'give "email" or "topicArn", not both');
      this.observability = new Observability(this, 'Observability', {
        functions: { discovery: discovery.function, jwks: jwks.function, token: token.function },
        httpApi: this.api.httpApi,
        stage: this.api.stage,
        accessLogs: this.api.accessLogs,
        metricsNamespace: stackName,
        ...(alarms.email !== undefined && { email: alarms.email }),
        ...(alarms.topicArn !== undefined && { topicArn: alarms.topicArn }),
      });
    }

    if (props.stackOutputs !== false) this.outputs();
    this.acknowledgeNagFindings();
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

  /**
   * Extension point: how the JWKS function gets its keys. Published at deploy time (JWKS-KEYS) by
   * a custom resource whose role is the one principal, besides the signer, that the keys' policies
   * let read a public key; the JWKS function itself has no KMS access.
   */
  private publishJwks(jwks: RouteFunction, logRetention: RetentionDays): void {
    const published = new PublishedJwks(this, 'PublishedJwks', {
      keys: this.signingKeys.all,
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
      'The KMS key that signs access tokens',
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
    if (domainTarget) {
      out(
        STACK_OUTPUTS.customDomainTarget,
        domainTarget,
        'Point the custom domain (CNAME or alias) here',
      );
    }
  }

  /** Every cdk-nag AwsSolutions finding this construct accepts, each with the reason it is accepted. */
  private acknowledgeNagFindings(): void {
    const nag = (id: string) => `AwsSolutions::AwsSolutions-${id}`;
    const functions = [
      ...Object.values(this.functions),
      ...(this.sampleResource ? [this.sampleResource.function] : []),
    ];
    for (const f of functions) {
      Validations.of(f.role).acknowledge({
        id: nag('IAM5[Resource::*]'),
        reason:
          'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, ' +
          'so their resource is "*"; they carry no data access.',
      });
      Validations.of(f.function).acknowledge({
        id: nag('L1'),
        reason:
          'Pinned to nodejs22.x, the runtime the project is built and tested for (esbuild target node22); ' +
          'moving to a newer runtime is a deliberate change of runtime and bundle target together.',
      });
    }
    const stack = Stack.of(this);
    const secrets = `IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.clients.secretPrefix}*]`;
    const secretsReason =
      'Client secrets are created after deployment by the admin CLI, one per client, under a name prefix owned by this ' +
      'stack; Secrets Manager appends a random suffix to every secret ARN, so the grant is the prefix plus a wildcard.';
    Validations.of(this.functions.token.role).acknowledge({
      id: nag(secrets),
      reason: secretsReason,
    });
    Validations.of(this.operatorPolicy).acknowledge({ id: nag(secrets), reason: secretsReason });
    Validations.of(this.operatorPolicy).acknowledge({
      id: nag(
        `IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${stack.stackName}/*]`,
      ),
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
