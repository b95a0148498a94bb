/**
 * A Lambda function serving one route, with the defaults every route shares set once: Node.js 22
 * on arm64, an ESM bundle (minified, source maps, AWS SDK included), X-Ray tracing, its own log
 * group with retention, and a role that may write only to that log group until granted more.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** How every route is bundled; the benchmark (bench/cold-start.ts) builds with the same settings. */
export const BUNDLING = {
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK instead of using the runtime's: the version we test is the one that runs,
  // and esbuild keeps only the clients and commands a route imports.
  externalModules: [] as string[],
  // Some dependencies (the X-Ray SDK under the Powertools Tracer) still call require().
  banner:
    "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
};

export interface RouteFunctionProps {
  /** The Lambda entry module (lambda/aws/entries/*.ts), exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** What happens to the log group when the function leaves the stack. @default DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly memorySize?: number;
  readonly timeout?: Duration;
}

export class RouteFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      // CPU scales with memory: 512 MB keeps a cold start (init + first KMS call) well under the
      // 1,500 ms API Gateway's JWT authorizer allows for discovery and JWKS.
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      // Stack traces in the logs point into the TypeScript sources.
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: { ...BUNDLING, format: OutputFormat.ESM },
    });
  }
}
