/**
 * The wrapped-key signing mode as `cdk synth` writes it (one synth, cdk-nag on): the token role
 * holds no kms:Sign, and its kms:Decrypt is bounded by the key and the key's encryption context;
 * config mistakes about modes stop the synth, naming the key.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { withRetryAfter } from '../../lambda/aws/retry-after.js';
import { encryptionContext } from '../../lambda/cdk-shared/wrapped-key-context.js';
import type { HttpEvent } from '../../lambda/http/types.js';
import { resolveServerProps, type XaaAuthorizationServerProps } from '../../lib/server-props.js';
import { buildStack, local, logicalId, resources, type Resource } from './stack-fixture.js';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Principal?: { AWS?: unknown };
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
const actions = (s: Statement) => [s.Action].flat();

describe('wrapped-key mode: the synthesized template', () => {
  let template: Template;
  let tokenRole: string;
  let keys: Array<[string, Resource]>;

  beforeAll(() => {
    // A rotation into the mode: a KMS key being retired, the wrapped key active.
    const { stack } = buildStack(
      { signingKeys: [{ id: 'key-1' }, { id: 'key-2', active: true, signing: 'wrapped-key' }] },
      { nag: true },
    );
    template = Template.fromStack(stack);
    tokenRole = logicalId(template, 'AWS::IAM::Role', 'TokenFunctionRole9');
    keys = resources(template, 'AWS::KMS::Key');
  });

  const keyPolicy = (prefix: string) =>
    (
      keys.find(([id]) => local(id).startsWith(`SigningKeys${prefix}`))![1].Properties!
        .KeyPolicy as {
        Statement: Statement[];
      }
    ).Statement;
  const namesTokenRole = (s: Statement) =>
    JSON.stringify(s.Principal ?? {}).includes(`"${tokenRole}"`);
  const identityStatements = (role: string) =>
    resources(template, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties!.Roles).includes(`"${role}"`))
      .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);

  test('the wrapping key is symmetric and rotated; the outgoing KMS key still signs RS256', () => {
    const wrapping = keys.find(([id]) => local(id).startsWith('SigningKeyskey2'))![1];
    expect(wrapping.Properties).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EnableKeyRotation: true,
    });
    expect(keyPolicy('key1').filter(namesTokenRole).flatMap(actions).sort()).toEqual([
      'kms:GetPublicKey',
      'kms:Sign',
    ]);
  });

  test("the account may do to each key what CloudFormation's key handler does, and nothing cryptographic", () => {
    // What AWS::KMS::Key's create and update handlers call: a key policy that omits one of them
    // fails the deploy on AWS, where moto would not notice (it evaluates no key policy).
    const handler = [
      'kms:CreateAlias',
      'kms:DescribeKey',
      'kms:GetKeyPolicy',
      'kms:GetKeyRotationStatus',
      'kms:ListResourceTags',
      'kms:PutKeyPolicy',
      'kms:TagResource',
      'kms:UntagResource',
      'kms:UpdateKeyDescription',
    ];
    const forAccount = (prefix: string) =>
      keyPolicy(prefix)
        .filter((st) => JSON.stringify(st.Principal ?? {}).includes(':root'))
        .flatMap(actions);
    for (const prefix of ['key1', 'key2'])
      expect(forAccount(prefix)).toEqual(expect.arrayContaining(handler));
    // Rotation: only the wrapping key has it, and its handler turns it on and off.
    expect(forAccount('key2')).toEqual(
      expect.arrayContaining(['kms:EnableKeyRotation', 'kms:DisableKeyRotation']),
    );
    for (const prefix of ['key1', 'key2'])
      for (const use of ['kms:Sign', 'kms:Decrypt', 'kms:Encrypt', 'kms:CreateGrant'])
        expect([prefix, forAccount(prefix)]).not.toEqual([prefix, expect.arrayContaining([use])]);
  });

  test('the token role may only Decrypt the wrapping key, with its encryption context; no Sign', () => {
    const forToken = keyPolicy('key2').filter(namesTokenRole);
    expect(forToken).toHaveLength(1);
    expect(actions(forToken[0]!)).toEqual(['kms:Decrypt']);
    const context = encryptionContext(`${'XaaAuthServer-playground'}/AuthServer/signing/key-2`);
    expect(forToken[0]!.Condition).toEqual({
      StringEquals: {
        'kms:EncryptionContext:purpose': context.purpose,
        'kms:EncryptionContext:signing-key': context['signing-key'],
      },
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['purpose', 'signing-key'] },
    });
    // Nothing in the wrapping key's policy or the role's own policies gives the token role Sign on it.
    const everything = [...keyPolicy('key2'), ...identityStatements(tokenRole)];
    expect(
      everything.filter(
        (s) => actions(s).some((a) => /^kms:(Sign|\*)$/.test(a)) && namesTokenRoleOrOwn(s),
      ),
    ).toEqual([]);
    function namesTokenRoleOrOwn(s: Statement) {
      return s.Principal === undefined || namesTokenRole(s);
    }
    // The generator may Encrypt under the same context and nothing else cryptographic.
    const others = keyPolicy('key2').filter((s) => s.Sid === 'WrapAtDeployTime');
    expect(others.map((s) => [actions(s), s.Condition])).toEqual([
      [['kms:Encrypt'], forToken[0]!.Condition],
    ]);
  });

  test('the token role reads exactly the wrapped key secret, and the function knows its kid, not its key', () => {
    const reads = identityStatements(tokenRole).filter((s) =>
      actions(s).includes('secretsmanager:GetSecretValue'),
    );
    const wrapped = logicalId(
      template,
      'Custom::WrappedSigningKey',
      'SigningKeysWrappedKeyGeneratorkey2D',
    );
    expect(reads.flatMap((s) => [s.Resource].flat())).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [wrapped, 'SecretArn'] }]),
    );
    const fn = resources(template, 'AWS::Lambda::Function').find(([id]) =>
      local(id).startsWith('TokenFunction'),
    )![1];
    const variables = (fn.Properties!.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(variables).toMatchObject({
      SIGNING_MODE: 'wrapped-key',
      SIGNING_KEY_SECRET: { 'Fn::GetAtt': [wrapped, 'SecretArn'] },
      SIGNING_KEY_KID: { 'Fn::GetAtt': [wrapped, 'Kid'] },
      SIGNING_KEY_NAME: 'XaaAuthServer-playground/AuthServer/signing/key-2',
    });
    // The ciphertext is nowhere in the template: only references to the secret.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/ciphertext|PRIVATE KEY/i);
  });

  test('the JWKS publisher gets the KMS key to read and the wrapped key as a public JWK', () => {
    const published = Object.values(template.findResources('Custom::PublishedJwks'))[0]!;
    expect(published.Properties.KeyIds).toHaveLength(1);
    expect(published.Properties.PublicJwks).toEqual([
      {
        'Fn::GetAtt': [
          logicalId(template, 'Custom::WrappedSigningKey', 'SigningKeysWrappedKeyGeneratorkey2D'),
          'PublicJwk',
        ],
      },
    ]);
  });
});

describe('signing mode mistakes stop the synth, naming the key', () => {
  const synth = (config: Record<string, unknown>) => () => buildStack(config);
  test.each([
    [
      {
        signingKeys: [{ id: 'k', active: true, signing: 'wrapped-key', keySpec: 'ECC_NIST_P256' }],
      },
      /signingKeys\[0\]\.keySpec: "ECC_NIST_P256" is not supported: only "RSA_2048"/,
    ],
    [
      { signingKeys: [{ id: 'k', active: true, keySpec: 'RSA_2048' }] },
      /signingKeys\[0\]\.keySpec: applies to the "wrapped-key" mode only/,
    ],
    [
      { signingKeys: [{ id: 'k', active: true, signing: ['kms', 'wrapped-key'] }] },
      /signingKeys\[0\]\.signing: one key signs in one mode, not 2/,
    ],
    [{ signing: ['kms', 'wrapped-key'] }, /^.*\bsigning: one key signs in one mode/],
    [{ signing: 'hsm' }, /signing: must be one of "kms", "wrapped-key"/],
    [
      { signing: 'wrapped-key', kmsRequestQuota: { tokenShare: 0.5 } },
      /kmsRequestQuota: sizes the token throttle for the "kms" signing mode/,
    ],
  ])('%j', (config, message) => {
    expect(synth(config)).toThrow(message);
  });
});

describe('kmsRequestQuota sizes the token throttle (kms mode)', () => {
  const trusted = [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' }];
  const throttleOf = (props: Partial<XaaAuthorizationServerProps>) =>
    resolveServerProps({ trustedIssuers: trusted, ...props }).tokenThrottle;

  test('its share of the quota is the rate and the burst; an explicit rate inside it is kept', () => {
    expect(throttleOf({ kmsRequestQuota: { tokenShare: 0.4 } })).toEqual({
      rateLimit: 200,
      burstLimit: 200,
    });
    expect(
      throttleOf({
        kmsRequestQuota: { rsaRequestsPerSecond: 1000, tokenShare: 0.5 },
        tokenThrottle: { rateLimit: 100 },
      }),
    ).toEqual({ rateLimit: 100, burstLimit: 500 });
    expect(throttleOf({})).toEqual({ rateLimit: 10, burstLimit: 20 });
  });

  test.each([
    [{ kmsRequestQuota: {} }, /kmsRequestQuota\.tokenShare: is required/],
    [{ kmsRequestQuota: { tokenShare: 1.5 } }, /kmsRequestQuota\.tokenShare/],
    [
      { kmsRequestQuota: { tokenShare: 0.1 }, tokenThrottle: { rateLimit: 60 } },
      /tokenThrottle\.rateLimit: 60\/s is above this server's share of the KMS RSA quota \(0\.1 × 500\/s = 50\/s\)/,
    ],
  ])('%j stops the synth', (props, message) => {
    expect(() => throttleOf(props as Partial<XaaAuthorizationServerProps>)).toThrow(message);
  });
});

describe('Retry-After on the token function’s 429 and 503', () => {
  const answering = (statusCode: number, headers: Record<string, string> = {}) =>
    withRetryAfter(
      async () => ({ statusCode, headers: { ...headers }, body: '' }),
      () => 4.2,
    );
  test.each([
    [503, {}, '5'],
    [429, {}, '5'],
    [503, { 'retry-after': '60' }, '60'],
    [200, {}, undefined],
    [400, {}, undefined],
  ])('%i %j → %s', async (status, headers, expected) => {
    const res = await answering(status, headers)({} as HttpEvent);
    expect(res.headers['retry-after']).toBe(expected);
  });
});
