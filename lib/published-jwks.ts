/**
 * The JWKS, published at deploy time (JWKS-KEYS): a custom resource reads every signing key's
 * public half from KMS (lambda/aws/jwks-publisher.ts) and the JWKS function receives the document
 * in its environment, so at run time it needs neither KMS nor the AWS SDK. The resource's
 * properties carry the key ARNs: every change to the key list re-reads the keys, and the changed
 * variable makes Lambda start fresh JWKS containers.
 *
 * Size: a function's variables share 4 KB, and the custom resource's answer to CloudFormation is
 * capped at 4,096 bytes. The document's budget is what the function's other variables leave, at
 * most PUBLISHED_JWKS_MAX_BYTES; synth fails when the listed keys cannot fit it, and the publisher
 * checks the real document against the same budget at deploy time.
 */
import { fileURLToPath } from 'node:url';
import { CustomResource, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import {
  PUBLISHED_JWK_BYTES,
  PUBLISHED_JWKS_ENV,
  PUBLISHED_JWKS_MAX_BYTES,
} from '../lambda/cdk-shared/published-jwks.js';
import { providerWithOwnLogs } from './custom-resource-provider.js';
import { RouteFunction } from './route-function.js';

/** Lambda's limit on a function's environment variables, keys and values together. */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;
/** What a value known only at deploy time (an ARN, an endpoint) is assumed to take. */
const DEPLOY_TIME_VALUE_BYTES = 128;

/**
 * What a function's variables take of Lambda's 4 KB, names and values, leaving out `skip`; a value
 * known only at deploy time counts as DEPLOY_TIME_VALUE_BYTES.
 */
export function environmentBytes(cfnFunction: CfnFunction, skip?: string): number {
  const resolved = Stack.of(cfnFunction).resolve(cfnFunction.environment) as
    { variables?: Record<string, unknown> } | undefined;
  let bytes = 0;
  for (const [name, value] of Object.entries(resolved?.variables ?? {})) {
    if (name === skip) continue;
    bytes += name.length + (typeof value === 'string' ? value.length : DEPLOY_TIME_VALUE_BYTES);
  }
  return bytes;
}

export interface PublishedJwksProps {
  /** Every KMS-mode key that may have signed a live token, the active one included, in JWKS order. */
  readonly keys: readonly IKey[];
  /** The wrapped-key mode's public JWKs (JSON each, deploy-time values), published after `keys`. */
  readonly publicJwks?: readonly string[];
  /** The function that serves the JWKS: it receives the document in PUBLISHED_JWKS. */
  readonly jwksFunction: LambdaFunction;
  readonly logRetention: RetentionDays;
}

/**
 * The JWKS, published at deploy time into the JWKS function's environment by a custom resource, so
 * the function serves it from memory with no KMS access (JWKS-KEYS).
 */
export class PublishedJwks extends Construct {
  /** The publisher's role: the one principal that reads the keys' public halves. */
  readonly publisherRole: Role;
  /** The custom resource's function: it reads the keys' public halves. */
  readonly publisher: RouteFunction;
  /** Runs the publisher on every deploy that changes the keys. */
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: PublishedJwksProps) {
    super(scope, id);
    const publicJwks = props.publicJwks ?? [];
    const keyCount = props.keys.length + publicJwks.length;
    if (keyCount === 0) throw new XaaConfigError('keys', 'at least one key is required');
    const cfnFunction = props.jwksFunction.node.defaultChild as CfnFunction;

    this.publisher = new RouteFunction(this, 'Publisher', {
      entry: fileURLToPath(new URL('../lambda/functions/jwks-publisher.ts', import.meta.url)),
      description: 'Deploy time: reads the signing keys from KMS and publishes the JWKS',
      environment: {},
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
    });
    this.publisherRole = this.publisher.role;
    if (props.keys.length > 0)
      this.publisherRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['kms:GetPublicKey'],
          resources: props.keys.map((k) => k.keyArn),
        }),
      );

    const provider = providerWithOwnLogs(this, {
      handler: this.publisher,
      purpose: 'the published JWKS',
      handlerName: 'the JWKS publisher',
      logRetention: props.logRetention,
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::PublishedJwks',
      properties: {
        KeyIds: props.keys.map((k) => k.keyArn),
        ...(publicJwks.length > 0 && { PublicJwks: publicJwks }),
        MaxBytes: Lazy.string({ produce: () => String(this.budget(cfnFunction)) }),
      },
    });
    props.jwksFunction.addEnvironment(PUBLISHED_JWKS_ENV, this.resource.getAttString('Jwks'));

    this.node.addValidation({
      validate: () => {
        const need = keyCount * PUBLISHED_JWK_BYTES;
        const budget = this.budget(cfnFunction);
        return need <= budget
          ? []
          : [
              `${keyCount} signing keys need about ${need} bytes in the JWKS function's ` +
                `environment, which has room for ${budget} (Lambda allows ${LAMBDA_ENVIRONMENT_MAX_BYTES} ` +
                'for all its variables): retire a key, or shorten the other variables',
            ];
      },
    });
  }

  /** Bytes left for the document: Lambda's 4 KB minus the JWKS function's other variables. */
  private budget(cfnFunction: CfnFunction): number {
    const others = environmentBytes(cfnFunction, PUBLISHED_JWKS_ENV);
    return Math.min(
      PUBLISHED_JWKS_MAX_BYTES,
      LAMBDA_ENVIRONMENT_MAX_BYTES - others - PUBLISHED_JWKS_ENV.length,
    );
  }
}
