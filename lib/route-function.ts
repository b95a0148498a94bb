/**
 * A Lambda function serving one route, with the defaults every route shares set once: Node.js 22
 * on arm64, an ESM bundle (lib/lambda-bundle.ts), X-Ray tracing, its own log group with retention,
 * and a role that may write only to that log group until granted more.
 *
 * The code comes from one of two places. The installed package carries every entry prebuilt
 * (`npm run build` writes dist/bundles/<entry path>/index.mjs), so a CDK app elsewhere needs no
 * bundler and no lock file. From the TypeScript sources in this repository there is no such
 * folder, and the entry is bundled at synth with the same settings, so a change to lambda/ is
 * always what deploys.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import type { ILocalBundling } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { BUNDLE_FILE, bundleDirOf, bundleLambda } from './lambda-bundle.js';

const BUNDLES_ROOT = fileURLToPath(new URL('../bundles/', import.meta.url));

export interface RouteFunctionProps {
  /** The Lambda entry module (lambda/functions/*.ts), exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** What happens to the log group when the function leaves the stack. @default DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly memorySize?: number;
  readonly timeout?: Duration;
}

/** CDK's local bundling with esbuild; `entry` is a field so that each entry gets its own asset cache key. */
class EsbuildBundling implements ILocalBundling {
  constructor(readonly entry: string) {}
  tryBundle(outputDir: string): boolean {
    bundleLambda(this.entry, outputDir);
    return true;
  }
}

function codeOf(entry: string): Code {
  const prebuilt = bundleDirOf(entry, BUNDLES_ROOT);
  if (prebuilt && existsSync(join(prebuilt, BUNDLE_FILE))) return Code.fromAsset(prebuilt);
  if (!existsSync(entry)) {
    throw new XaaConfigError(
      'entry',
      `no bundle for ${entry}: neither its source nor a prebuilt ` +
        `${prebuilt ? join(prebuilt, BUNDLE_FILE) : BUNDLE_FILE} exists (a package built without it?)`,
    );
  }
  return Code.fromAsset(dirname(entry), {
    // The hash of the bundle, not of the entry's folder: a change anywhere the entry imports
    // must make a new asset. (With bundling skipped, CDK substitutes a cheap stand-in hash.)
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling either succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
      local: new EsbuildBundling(entry),
    },
  });
}

/** A route's function with its own role and log group. */
export class RouteFunction extends Construct {
  /** Node.js 22 on arm64, traced with X-Ray. */
  readonly function: LambdaFunction;
  /** The function's role: its own log group only, until granted more. */
  readonly role: Role;
  /** The function's own log group, with the configured retention. */
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
    this.function = new LambdaFunction(this, 'Function', {
      code: codeOf(props.entry),
      handler: 'index.handler',
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
    });
    this.acknowledgeNagFindings();
  }

  /** The findings that follow from the runtime and the tracing set above, with why they stand. */
  private acknowledgeNagFindings(): void {
    const nag = (id: string) => `AwsSolutions::AwsSolutions-${id}`;
    Validations.of(this.role).acknowledge({
      id: nag('IAM5[Resource::*]'),
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, ' +
        'so their resource is "*"; they carry no data access.',
    });
    Validations.of(this.function).acknowledge({
      id: nag('L1'),
      reason:
        'Pinned to nodejs22.x, the runtime the project is built and tested for (esbuild target node22); ' +
        'moving to a newer runtime is a deliberate change of runtime and bundle target together.',
    });
  }
}
