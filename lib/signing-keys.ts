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
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, AccountRootPrincipal } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { AWS_ENV, SIGNING_MODES, type SigningMode } from '../lambda/cdk-shared/aws-config.js';
import { KMS_SIGNING_ALGORITHM } from '../lambda/cdk-shared/kms-signing-algorithm.js';
import { encryptionContext, WRAPPED_KEY_SPEC } from '../lambda/cdk-shared/wrapped-key-context.js';
import { WrappedKeyGenerator, type WrappedKeyResource } from './wrapped-key-generator.js';

export type { SigningMode } from '../lambda/cdk-shared/aws-config.js';

/**
 * One signing key of the server. Rotation is a sequence of deploys that edit this list: add a
 * key, make it active, retire the old one (docs/operations.md).
 *
 * @example
 * ```ts
 * signingKeys: [{ id: 'key-1' }, { id: 'key-2', active: true }]
 * ```
 */
export interface SigningKeyEntry {
  /** Names the key in the stack: keep it for the key's whole life (changing it replaces the key). */
  readonly id: string;
  /** Signs new tokens; exactly one key of the list is active. @default false */
  readonly active?: boolean;
  /** How this key signs; see above. @default the server's `signing`, which defaults to 'kms' */
  readonly signing?: SigningMode;
  /** The key pair's spec in the wrapped-key mode: only RSA_2048 (tokens are RS256). */
  readonly keySpec?: string;
}

/** A wrapped key as deployed (wrapped-key mode). */
export interface WrappedSigningKey extends WrappedKeyResource {
  /** The configured id. */
  readonly id: string;
  /** The symmetric KMS key that wraps it. */
  readonly wrappingKey: Key;
  /** The encryption context's `signing-key`. */
  readonly keyName: string;
}

/**
 * A key entry's mode, checked: the entry's own `signing`, else the server's. One key signs in one
 * mode; a key spec other than RSA_2048, or one given to a KMS-mode key, stops the synth.
 */
export function checkSigningMode(
  entry: SigningKeyEntry,
  i: number,
  serverMode: unknown,
): { signing: SigningMode; keySpec?: string } {
  const key = `signingKeys[${i}]`;
  const mode = entry.signing ?? serverMode ?? 'kms';
  const where = entry.signing !== undefined ? `${key}.signing` : 'signing';
  if (Array.isArray(mode))
    throw new XaaConfigError(
      where,
      `one key signs in one mode, not ${mode.length} (${mode.join(', ')}): to move a key to another mode, add a new ` +
        'key in that mode, make it active, then retire the old one',
    );
  if (!(SIGNING_MODES as readonly unknown[]).includes(mode))
    throw new XaaConfigError(
      where,
      `must be one of ${SIGNING_MODES.map((m) => `"${m}"`).join(', ')}`,
    );
  if (entry.keySpec === undefined) return { signing: mode as SigningMode };
  if (mode === 'kms')
    throw new XaaConfigError(
      `${key}.keySpec`,
      `applies to the "wrapped-key" mode only: a "kms" key is always an RSA_2048 KMS signing key`,
    );
  if (entry.keySpec !== WRAPPED_KEY_SPEC)
    throw new XaaConfigError(
      `${key}.keySpec`,
      `${JSON.stringify(entry.keySpec)} is not supported: only "${WRAPPED_KEY_SPEC}" (access tokens are RS256, ` +
        'and the JWKS publishes RSA-2048 keys)',
    );
  return { signing: mode as SigningMode, keySpec: entry.keySpec };
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

/**
 * The access-token signing keys, each published in the JWKS while it is listed.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 (the JWK Set)
 */
export class SigningKeys extends Construct {
  /** The active key's KMS key: it signs (kms mode) or wraps the signing key (wrapped-key mode). */
  readonly active: Key;
  /** Every KMS key, signing or wrapping, in the configured order. */
  readonly all: readonly Key[];
  /** Each key's configured id, in the order of `all`. */
  readonly ids: readonly string[];
  /** The keys in the kms mode: KMS signs with them. */
  readonly kmsSigned: readonly Key[];
  /** The keys in the wrapped-key mode. */
  readonly wrapped: readonly WrappedSigningKey[];
  /** How the active key signs. */
  readonly activeMode: SigningMode;
  /** The deploy-time function of the wrapped-key mode, when a key uses it. */
  readonly generator?: WrappedKeyGenerator;
  private activeWrapped?: WrappedSigningKey;

  constructor(
    scope: Construct,
    id: string,
    props: {
      keys: readonly SigningKeyEntry[];
      /** Alias names are unique per account and region: this names the owner. */
      aliasPrefix: string;
      /** For the wrapped-key mode's deploy-time function. @default one month */
      logRetention?: RetentionDays;
    },
  ) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const modes = props.keys.map((spec, i) => checkSigningMode(spec, i, undefined).signing);
    // Unique per account and region, as the alias is: `<stack>/<construct>/signing/<id>`.
    const keyNamePrefix = props.aliasPrefix.replace(/^alias\//, '');
    const secretNamePrefix = `xaa-auth-server/${keyNamePrefix}`;
    if (modes.includes('wrapped-key'))
      this.generator = new WrappedKeyGenerator(this, 'WrappedKeyGenerator', {
        secretNamePrefix,
        logRetention: props.logRetention ?? 30,
      });
    let active: Key | undefined;
    let activeMode: SigningMode = 'kms';
    const kmsSigned: Key[] = [];
    const wrapped: WrappedSigningKey[] = [];
    this.all = props.keys.map((spec, i) => {
      const mode = modes[i]!;
      const key =
        mode === 'kms'
          ? this.kmsKey(spec, stackName, props.aliasPrefix)
          : this.wrappingKey(spec, stackName, props.aliasPrefix);
      if (mode === 'kms') kmsSigned.push(key);
      else {
        const keyName = `${keyNamePrefix}${spec.id}`;
        const w = {
          id: spec.id,
          wrappingKey: key,
          keyName,
          ...this.generator!.addKey(spec.id, { wrappingKey: key, keyName, secretNamePrefix }),
        };
        key.addToResourcePolicy(
          new PolicyStatement({
            sid: 'WrapAtDeployTime',
            principals: [this.generator!.role],
            actions: ['kms:Encrypt'],
            resources: ['*'],
            conditions: contextConditions(keyName),
          }),
        );
        wrapped.push(w);
        if (spec.active) this.activeWrapped = w;
      }
      if (spec.active) {
        active = key;
        activeMode = mode;
      }
      return key;
    });
    if (!active) throw new XaaConfigError('signingKeys', 'must mark exactly one key active');
    this.active = active;
    this.activeMode = activeMode;
    this.kmsSigned = kmsSigned;
    this.wrapped = wrapped;
    this.ids = props.keys.map((k) => k.id);
    this.node.addValidation({ validate: () => this.secretPrefixOverlap(secretNamePrefix) });
  }

  /**
   * What the token function needs besides the active KMS key's ARN (SIGNING_KEY_ID): nothing in
   * the kms mode; where the wrapped key is, its context and its kid in the wrapped-key mode.
   */
  tokenEnvironment(): Record<string, string> {
    const w = this.activeWrapped;
    if (!w) return {};
    return {
      [AWS_ENV.signingMode]: 'wrapped-key',
      [AWS_ENV.signingKeySecret]: w.secretArn,
      [AWS_ENV.signingKeyName]: w.keyName,
      [AWS_ENV.signingKeyKid]: w.kid,
    };
  }

  /** The wrapped keys' public JWKs, JSON each, for the JWKS publisher. */
  publicJwks(): string[] {
    return this.wrapped.map((w) => w.publicJwk);
  }

  /**
   * The operator policy may write every secret under the client secret prefix: a wrapped key's
   * secret under it could be deleted or replaced by an operator (a replaced one fails its kid
   * check, so only an outage; still not theirs to touch).
   */
  private secretPrefixOverlap(secretNamePrefix: string): string[] {
    if (this.wrapped.length === 0) return [];
    const store = this.node.scope?.node.tryFindChild('ClientStore') as
      { secretPrefix?: string } | undefined;
    const clients = store?.secretPrefix;
    if (typeof clients !== 'string' || Token.isUnresolved(clients)) return [];
    return secretNamePrefix.startsWith(clients) || clients.startsWith(secretNamePrefix)
      ? [
          `clientSecretPrefix ${JSON.stringify(clients)} covers the wrapped signing keys' secrets ` +
            `(${JSON.stringify(secretNamePrefix)}): the operators could delete them; choose a prefix that does not`,
        ]
      : [];
  }

  private kmsKey(spec: SigningKeyEntry, stackName: string, aliasPrefix: string): Key {
    // The construct id carries the configured id, so adding or retiring one key leaves the others' logical ids alone.
    return new Key(this, spec.id, {
      description: `Access-token signing key "${spec.id}" of ${stackName}`,
      keySpec: KeySpec.RSA_2048,
      keyUsage: KeyUsage.SIGN_VERIFY,
      alias: `${aliasPrefix}${spec.id}`,
      policy: administrationOnlyPolicy(),
      // Retiring a key (removing it from the list) schedules its deletion; the wait leaves time to
      // cancel it should a token it signed still matter.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
  }

  /**
   * The same key policy shape, on a symmetric key. Its deletion also shreds the wrapped key: the
   * ciphertext left in a secret cannot be decrypted once the key is gone.
   */
  private wrappingKey(spec: SigningKeyEntry, stackName: string, aliasPrefix: string): Key {
    return new Key(this, spec.id, {
      description: `Wraps the access-token signing key "${spec.id}" of ${stackName}`,
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
      keyUsage: KeyUsage.ENCRYPT_DECRYPT,
      // New backing key material yearly; KMS keeps the old ones, so the ciphertext still decrypts.
      enableKeyRotation: true,
      alias: `${aliasPrefix}${spec.id}`,
      // CloudFormation turns rotation on (and off) through the key policy's grants too: without
      // these two, creating the key is AccessDenied on AWS (moto does not evaluate key policies).
      policy: administrationOnlyPolicy(['kms:EnableKeyRotation', 'kms:DisableKeyRotation']),
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
  }

  /**
   * What signing needs, for the token function's role alone: kms:Sign, RS256 only, on every KMS-mode
   * key (see above); on every wrapped key, kms:Decrypt with that key's encryption context and
   * GetSecretValue on its secret (that one secret, by its full ARN).
   */
  grantSign(grantee: IGrantable): void {
    for (const w of this.wrapped) {
      w.wrappingKey.addToResourcePolicy(
        new PolicyStatement({
          sid: 'UnwrapForSigning',
          principals: [grantee.grantPrincipal],
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: contextConditions(w.keyName),
        }),
      );
    }
    if (this.wrapped.length > 0)
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: this.wrapped.map((w) => w.secretArn),
        }),
      );
    for (const key of this.kmsSigned) {
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

  /**
   * kms:GetPublicKey on every KMS-mode key: for whatever publishes the JWKS, and the signer's kid.
   * A wrapped key's public half comes from its custom resource instead.
   */
  grantPublicKeyRead(grantee: IGrantable): void {
    for (const key of this.kmsSigned) {
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

/** Both members of the encryption context, exactly: anything else in the request is refused. */
function contextConditions(keyName: string): Record<string, Record<string, unknown>> {
  const context = encryptionContext(keyName);
  return {
    StringEquals: Object.fromEntries(
      Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
    ),
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': Object.keys(context) },
  };
}

/** The account may manage a key (KEY_ADMIN_ACTIONS) and use it for nothing: uses are granted one by one. */
function administrationOnlyPolicy(extraAdministration: readonly string[] = []): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'KeyAdministrationWithoutUse',
        principals: [new AccountRootPrincipal()],
        actions: [...KEY_ADMIN_ACTIONS, ...extraAdministration],
        resources: ['*'],
      }),
    ],
  });
}
