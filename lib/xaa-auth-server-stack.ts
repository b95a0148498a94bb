/**
 * The authorization server on AWS: signing keys in KMS, clients in DynamoDB and Secrets Manager,
 * three route functions behind an HTTP API. Environment-agnostic: the region and account are
 * whatever `cdk deploy` targets.
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { AWS_ENV } from '../lambda/aws/aws-config.js';
import { STACK_OUTPUTS } from '../lambda/aws/stack-outputs.js';
import { AuthorizationServerApi } from './authorization-server-api.js';
import { ClientStore } from './client-store.js';
import { RouteFunction } from './route-function.js';
import { SampleResource } from './sample-resource.js';
import { SigningKeys } from './signing-keys.js';
import type { StackConfig } from './stack-config.js';

export interface XaaAuthServerStackProps extends StackProps {
  readonly config: StackConfig;
}

const entry = (name: string) =>
  fileURLToPath(new URL(`../lambda/aws/entries/${name}.ts`, import.meta.url));

export class XaaAuthServerStack extends Stack {
  readonly signingKeys: SigningKeys;
  readonly clients: ClientStore;
  readonly api: AuthorizationServerApi;
  readonly functions: {
    readonly discovery: RouteFunction;
    readonly jwks: RouteFunction;
    readonly token: RouteFunction;
  };
  readonly sampleResource?: SampleResource;

  constructor(scope: Construct, id: string, props: XaaAuthServerStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.signingKeys = new SigningKeys(this, 'SigningKeys', { keys: config.signingKeys });
    this.clients = new ClientStore(this, 'ClientStore');

    // The functions need the issuer, which for the execute-api host is known only once the API
    // exists: the environment is filled in after the API is built (see below).
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
      description: 'Public signing keys (JWKS) from KMS',
      environment: {
        ...environment,
        [AWS_ENV.publicKeys]: Fn.join(
          ',',
          this.signingKeys.all.map((k) => k.keyArn),
        ),
      },
      timeout: Duration.seconds(5),
    });
    const token = new RouteFunction(this, 'TokenFunction', {
      ...common,
      entry: entry('token'),
      description: 'Token endpoint: redeems ID-JAGs for access tokens',
      environment: {
        ...environment,
        [AWS_ENV.clientsTable]: this.clients.clientsTable.tableName,
        [AWS_ENV.replayTable]: this.clients.replayTable.tableName,
        [AWS_ENV.secretPrefix]: this.clients.secretPrefix,
        [AWS_ENV.signingKey]: this.signingKeys.active.keyArn,
        [AWS_ENV.metricsNamespace]: this.stackName,
      },
    });
    this.functions = { discovery, jwks, token };

    // Least privilege, route by route: discovery gets nothing beyond its logs.
    jwks.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GetPublicKey'],
        resources: this.signingKeys.all.map((k) => k.keyArn),
      }),
    );
    token.role.addToPrincipalPolicy(
      // GetPublicKey on the active key gives the signer its kid (the key's RFC 7638 thumbprint).
      new PolicyStatement({
        actions: ['kms:Sign', 'kms:GetPublicKey'],
        resources: [this.signingKeys.active.keyArn],
      }),
    );
    this.clients.grantTokenFunction(token.role);

    this.api = new AuthorizationServerApi(this, 'Api', {
      discovery: discovery.function,
      jwks: jwks.function,
      token: token.function,
      corsOrigins: config.corsOrigins,
      throttle: config.throttle,
      tokenThrottle: config.tokenThrottle,
      logRetention: config.logRetention,
      ...(config.customDomain && { customDomain: config.customDomain }),
    });

    // The $default stage has no path, so the execute-api endpoint itself is a path-less issuer.
    const issuer = config.customDomain
      ? `https://${config.customDomain.domainName}`
      : this.api.httpApi.apiEndpoint;
    for (const f of [discovery, jwks, token]) f.function.addEnvironment('ISSUER', issuer);

    if (config.sampleResource) {
      this.sampleResource = new SampleResource(this, 'SampleResource', {
        httpApi: this.api.httpApi,
        issuer,
        resource: config.sampleResource.resource ?? `${issuer}/`,
        logRetention: config.logRetention,
        entry: fileURLToPath(new URL('../lambda/sample-resource/lambda.ts', import.meta.url)),
      });
    }

    this.outputs(issuer);
    this.acknowledgeNagFindings();
  }

  private outputs(issuer: string): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out(
      STACK_OUTPUTS.issuer,
      issuer,
      'The issuer: enter it in the xaa.dev playground as the authorization server',
    );
    out(
      STACK_OUTPUTS.clientsTable,
      this.clients.clientsTable.tableName,
      'DynamoDB table of registered clients',
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
    if (this.api.domainName) {
      out(
        STACK_OUTPUTS.customDomainTarget,
        this.api.domainName.regionalDomainName,
        'Point the custom domain (CNAME or alias) here',
      );
    }
  }

  /** Every cdk-nag AwsSolutions finding this stack accepts, each with the reason it is accepted. */
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
    Validations.of(this.functions.token.role).acknowledge({
      id: nag(
        `IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.clients.secretPrefix}*]`,
      ),
      reason:
        'Client secrets are created after deployment by the admin CLI, one per client, under a name prefix owned by this ' +
        'stack; Secrets Manager appends a random suffix to every secret ARN, so the read grant is the prefix plus a wildcard.',
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
