/** The JWKS published at deploy time: who reads the keys, what the JWKS function receives, the size budget. */
import type { Template } from 'aws-cdk-lib/assertions';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PublishedJwks } from '../../lib/published-jwks.js';
import { PUBLISHED_JWKS_MAX_BYTES } from '../../lambda/cdk-shared/published-jwks.js';
import { partStack, resourcesOf, statementsOfRole, type NagReport } from './part-fixture.js';

function build(keyCount: number, environment: Record<string, string> = {}) {
  const part = partStack();
  const keys = Array.from(
    { length: keyCount },
    (_, i) =>
      new Key(part.stack, `Key${i}`, { keySpec: KeySpec.RSA_2048, keyUsage: KeyUsage.SIGN_VERIFY }),
  );
  const jwks = part.routeFunction('Jwks', environment);
  new PublishedJwks(part.stack, 'PublishedJwks', {
    keys,
    jwksFunction: jwks.function,
    logRetention: RetentionDays.ONE_MONTH,
  });
  return part;
}

const only = (template: Template, type: string, prefix: string) => {
  const found = resourcesOf(template, type).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]!;
};

let template: Template;
let nag: NagReport;
beforeAll(() => {
  ({ template, nag } = build(3).synth());
}, 120_000);

test('one custom resource lists every key by ARN, in order: a change to the list re-publishes', () => {
  const [, resource] = only(template, 'Custom::PublishedJwks', 'PublishedJwks');
  const keyIds = resourcesOf(template, 'AWS::KMS::Key').map(([id]) => ({
    'Fn::GetAtt': [id, 'Arn'],
  }));
  expect(keyIds).toHaveLength(3);
  expect(resource.Properties!.KeyIds).toEqual(keyIds);
  expect(resource.Properties!.ServiceToken).toEqual({
    'Fn::GetAtt': [expect.stringMatching(/^PublishedJwksProviderframeworkonEvent/), 'Arn'],
  });
});

test('the JWKS function receives the document in PUBLISHED_JWKS, and the budget its other variables leave', () => {
  const [id] = only(template, 'Custom::PublishedJwks', 'PublishedJwks');
  const [, fn] = only(template, 'AWS::Lambda::Function', 'JwksFunction');
  const variables = (fn.Properties!.Environment as { Variables: Record<string, unknown> })
    .Variables;
  expect(variables.PUBLISHED_JWKS).toEqual({ 'Fn::GetAtt': [id, 'Jwks'] });
  const [, resource] = only(template, 'Custom::PublishedJwks', 'PublishedJwks');
  // ISSUER (6 + 22) and NODE_OPTIONS (12 + 21) leave far more than the document's cap.
  expect(resource.Properties!.MaxBytes).toBe(String(PUBLISHED_JWKS_MAX_BYTES));
});

test('only the publisher may read the public keys; it reads nothing else', () => {
  const [publisherRole] = only(template, 'AWS::IAM::Role', 'PublishedJwksPublisherRole');
  const statements = statementsOfRole(template, publisherRole);
  const kms = statements.filter((s) => JSON.stringify(s.Action).includes('kms:'));
  expect(kms).toEqual([
    {
      Effect: 'Allow',
      Action: 'kms:GetPublicKey',
      Resource: resourcesOf(template, 'AWS::KMS::Key').map(([id]) => ({
        'Fn::GetAtt': [id, 'Arn'],
      })),
    },
  ]);
  const readers = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
    JSON.stringify(p).includes('kms:'),
  );
  expect(readers.map(([id]) => id)).toEqual([expect.stringMatching(/^PublishedJwksPublisherRole/)]);
});

test('no managed policy: the framework function writes only to its own log group', () => {
  for (const [, role] of resourcesOf(template, 'AWS::IAM::Role'))
    expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
  const [frameworkRole] = only(template, 'AWS::IAM::Role', 'PublishedJwksProviderRole');
  const [logs] = only(template, 'AWS::Logs::LogGroup', 'PublishedJwksProviderLogs');
  const writes = statementsOfRole(template, frameworkRole).filter((s) =>
    JSON.stringify(s.Action).includes('logs:'),
  );
  expect(writes.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logs, 'Arn'] }]);
});

test('cdk-nag passes; the acknowledged findings are the functions’ X-Ray and runtime, and the framework’s invoke grant', () => {
  expect(nag.conclusion).toBe('success');
  expect(nag.violations).toEqual([]);
  const [publisher] = only(template, 'AWS::Lambda::Function', 'PublishedJwksPublisherFunction');
  expect(nag.acknowledged).toEqual(
    [
      'AwsSolutions-IAM5[Resource::*] @ Part/PublishedJwks/Publisher/Role/DefaultPolicy/Resource',
      'AwsSolutions-L1 @ Part/PublishedJwks/Publisher/Function/Resource',
      `AwsSolutions-IAM5[Resource::<${publisher}.Arn>:*] @ Part/PublishedJwks/ProviderRole/DefaultPolicy/Resource`,
    ].sort(),
  );
  for (const reason of nag.reasons) expect(reason.length).toBeGreaterThan(40);
});

test('synth fails, naming the limit, when the keys cannot fit the JWKS function’s environment', () => {
  // Seven RSA-2048 keys are about 3,220 bytes: over the document's cap.
  expect(() => build(7).synth()).toThrow(/7 signing keys need about 3220 bytes.*retire a key/s);
  // Two keys fit the cap, but not beside 3,300 bytes of other variables.
  expect(() => build(2, { TRUSTED_ISSUERS: 'x'.repeat(3300) }).synth()).toThrow(
    /2 signing keys need about 920 bytes in the JWKS function's environment, which has room for \d+/,
  );
}, 120_000);
