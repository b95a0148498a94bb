/**
 * The access-token signing keys: one KMS RSA_2048 SIGN_VERIFY key per configured entry, each with a
 * key policy written out in full rather than the default "kms:* for the account root", which would
 * let any principal in the account with an IAM `kms:Sign` on `*` mint access tokens.
 *
 * - `kms:Sign` only for the principals given to grantSign (the token function's role), and only
 *   with RSASSA_PKCS1_V1_5_SHA_256 (RS256, JWKS-RSA).
 * - `kms:GetPublicKey` only for the principals given to grantPublicKeyRead (whatever publishes the
 *   JWKS, and the token function, which derives its kid from the public key).
 * - Key administration for the account (IAM decides who), without Sign, without CreateGrant (a
 *   grant could hand Sign to anyone) and without any cryptographic operation.
 *
 * Every listed key may sign, not only the active one: a key in the list is published in the JWKS,
 * so resource servers already trust what it signs, and keeping Sign on the outgoing key through a
 * rotation switch lets warm containers that still hold it finish without a 503 (the switch deploy
 * changes the function and the key policies in no guaranteed order). Retiring a key removes it from
 * the JWKS and from signing in the same deploy. docs/operations.md walks through the steps.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, AccountRootPrincipal } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { KMS_SIGNING_ALGORITHM } from '../lambda/aws/kms-signing-algorithm.js';

export interface SigningKeyEntry {
  /** Names the key in the stack: keep it for the key's whole life (changing it replaces the key). */
  readonly id: string;
  readonly active?: boolean;
}

/**
 * What the account may do with a signing key: manage it (CloudFormation needs these to create,
 * update, tag, alias and delete it) and nothing cryptographic. Listed one by one: a wildcard such as
 * `kms:Create*` would include CreateGrant.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
] as const;

export class SigningKeys extends Construct {
  readonly active: Key;
  readonly all: readonly Key[];
  /** Each key's configured id, in the order of `all`. */
  readonly ids: readonly string[];

  constructor(
    scope: Construct,
    id: string,
    props: {
      keys: readonly SigningKeyEntry[];
      /** Alias names are unique per account and region: this names the owner. */
      aliasPrefix: string;
    },
  ) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    let active: Key | undefined;
    this.all = props.keys.map((spec) => {
      // The construct id carries the configured id, so adding or retiring one key leaves the others' logical ids alone.
      const key = new Key(this, spec.id, {
        description: `Access-token signing key "${spec.id}" of ${stackName}`,
        keySpec: KeySpec.RSA_2048,
        keyUsage: KeyUsage.SIGN_VERIFY,
        alias: `${props.aliasPrefix}${spec.id}`,
        policy: new PolicyDocument({
          statements: [
            new PolicyStatement({
              sid: 'KeyAdministrationWithoutUse',
              principals: [new AccountRootPrincipal()],
              actions: [...KEY_ADMIN_ACTIONS],
              resources: ['*'],
            }),
          ],
        }),
        // Retiring a key (removing it from the list) schedules its deletion; the wait leaves time to
        // cancel it should a token it signed still matter.
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(30),
      });
      if (spec.active) active = key;
      return key;
    });
    if (!active) throw new XaaConfigError('signingKeys', 'must mark exactly one key active');
    this.active = active;
    this.ids = props.keys.map((k) => k.id);
  }

  /** kms:Sign on every listed key (see above), RS256 only: for the token function's role alone. */
  grantSign(grantee: IGrantable): void {
    for (const key of this.all) {
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [grantee.grantPrincipal],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
        }),
      );
    }
  }

  /** kms:GetPublicKey on every listed key: for whatever publishes the JWKS, and the signer's kid. */
  grantPublicKeyRead(grantee: IGrantable): void {
    for (const key of this.all) {
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [grantee.grantPrincipal],
          actions: ['kms:GetPublicKey'],
          resources: ['*'],
        }),
      );
    }
  }
}
