/**
 * The access-token signing keys: one KMS RSA_2048 SIGN_VERIFY key per configured entry. All of them
 * are published in the JWKS; only the active one signs. Rotation is a change to the list (docs/operations.md).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Key, KeySpec, KeyUsage, type IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { SigningKeySpec } from './stack-config.js';

export class SigningKeys extends Construct {
  readonly active: IKey;
  readonly all: readonly IKey[];

  constructor(scope: Construct, id: string, props: { keys: readonly SigningKeySpec[] }) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    let active: IKey | undefined;
    this.all = props.keys.map((spec) => {
      // The construct id carries the configured id, so adding or retiring one key leaves the others' logical ids alone.
      const key = new Key(this, spec.id, {
        description: `Access-token signing key "${spec.id}" of ${stackName}`,
        keySpec: KeySpec.RSA_2048,
        keyUsage: KeyUsage.SIGN_VERIFY,
        alias: `alias/${stackName}/signing/${spec.id}`,
        // Retiring a key (removing it from the list) schedules its deletion; the wait leaves time to
        // cancel it should a token it signed still matter.
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(30),
      });
      if (spec.active) active = key;
      return key;
    });
    if (!active) throw new Error('SigningKeys: exactly one key must be active');
    this.active = active;
  }
}
