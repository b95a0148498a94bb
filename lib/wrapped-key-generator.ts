/**
 * The wrapped-key mode's deploy-time function (lambda/aws/wrapped-key-generator.ts) behind a CDK
 * provider, and one custom resource per wrapped key. The function's role may create, read back
 * and delete the secrets under one name prefix, and (through each key's policy, lib/signing-keys.ts)
 * encrypt under each wrapping key with that key's encryption context; it may not decrypt. Read
 * back means the ciphertext, which is of no use without kms:Decrypt: an Update answers the same
 * public key again.
 */
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { WRAPPED_KEY_SPEC } from '../lambda/cdk-shared/wrapped-key-context.js';
import { nagResource } from './nag-resource.js';
import { providerWithOwnLogs } from './custom-resource-provider.js';
import { RouteFunction } from './route-function.js';

export interface WrappedKeyGeneratorProps {
  /** Every secret the generator makes is named under this prefix. */
  readonly secretNamePrefix: string;
  readonly logRetention: RetentionDays;
}

/** One wrapped key as deployed: its secret and its public half, known at deploy time. */
export interface WrappedKeyResource {
  readonly resource: CustomResource;
  readonly secretArn: string;
  readonly kid: string;
  /** The public JWK as JSON, for the JWKS publisher. */
  readonly publicJwk: string;
}

export class WrappedKeyGenerator extends Construct {
  readonly role: Role;
  readonly generator: RouteFunction;
  private readonly provider: Provider;

  constructor(scope: Construct, id: string, props: WrappedKeyGeneratorProps) {
    super(scope, id);
    this.generator = new RouteFunction(this, 'Generator', {
      entry: fileURLToPath(
        new URL('../lambda/functions/wrapped-key-generator.ts', import.meta.url),
      ),
      description: 'Deploy time: makes each wrapped signing key and stores it encrypted',
      environment: {},
      logRetention: props.logRetention,
      timeout: Duration.seconds(60),
    });
    this.role = this.generator.role;
    const secrets = Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${props.secretNamePrefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:DeleteSecret',
        ],
        resources: [secrets],
      }),
    );

    this.provider = providerWithOwnLogs(this, {
      handler: this.generator,
      purpose: 'the wrapped signing keys',
      handlerName: 'the wrapped key generator',
      logRetention: props.logRetention,
    });

    const nag = (finding: string) => `AwsSolutions::AwsSolutions-${finding}`;
    const stack = Stack.of(this);
    Validations.of(this.role).acknowledge({
      id: nag(`IAM5[Resource::${nagResource(stack, secrets)}]`),
      reason:
        'The generator names each secret it creates with a random suffix (a key id can be reused after a retirement ' +
        'without waiting out the recovery window), and Secrets Manager adds its own: the grant is the prefix this ' +
        'construct owns plus a wildcard, for creating, reading back (ciphertext only) and deleting the wrapped keys.',
    });
  }

  /** The custom resource for one key, wrapped under `wrappingKey` with the context of `keyName`. */
  addKey(
    id: string,
    props: { wrappingKey: IKey; keyName: string; secretNamePrefix: string },
  ): WrappedKeyResource {
    const resource = new CustomResource(this, id, {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::WrappedSigningKey',
      properties: {
        WrappingKeyArn: props.wrappingKey.keyArn,
        KeyName: props.keyName,
        SecretNamePrefix: props.secretNamePrefix,
        KeySpec: WRAPPED_KEY_SPEC,
      },
    });
    return {
      resource,
      secretArn: resource.getAttString('SecretArn'),
      kid: resource.getAttString('Kid'),
      publicJwk: resource.getAttString('PublicJwk'),
    };
  }
}
