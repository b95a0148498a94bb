/** cdk-nag AwsSolutions on the stack: no finding unacknowledged, and exactly these acknowledged, each with its reason. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { awsSolutionsReport } from './part-fixture.js';
import { buildStack } from './stack-fixture.js';

let outdir: string;
beforeEach(() => {
  outdir = mkdtempSync(join(tmpdir(), 'xaa-nag-'));
});
afterEach(() => rmSync(outdir, { recursive: true, force: true }));

test('AwsSolutions passes with only the acknowledged findings below, each with a reason', () => {
  const { app } = buildStack(
    { signingKeys: [{ id: 'old' }, { id: 'new', active: true }] },
    { nag: true, outdir },
  );
  app.synth();
  const nag = awsSolutionsReport(outdir);
  expect(nag.conclusion).toBe('success');
  expect(nag.violations).toEqual([]);
  const acknowledged = nag.suppressedViolations
    .flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`))
    .sort();
  const S = 'XaaAuthServer-playground/AuthServer';
  // The published JWKS (lib/published-jwks.ts) pins its own findings in its own test.
  expect(acknowledged.filter((a) => !a.includes(`${S}/PublishedJwks/`))).toEqual(
    [
      ...['Discovery', 'Jwks', 'Token'].flatMap((f) => [
        `AwsSolutions-IAM5[Resource::*] @ ${S}/${f}Function/Role/DefaultPolicy/Resource`,
        `AwsSolutions-L1 @ ${S}/${f}Function/Function/Resource`,
      ]),
      ...['TokenFunction/Role/DefaultPolicy', 'Operator/Policy'].map(
        (p) =>
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:xaa-auth-server/XaaAuthServer-playground/clients/*] @ ${S}/${p}/Resource`,
      ),
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/XaaAuthServer-playground/*] @ ${S}/Operator/Policy/Resource`,
      ...[
        'GET--.well-known--oauth-authorization-server',
        'GET--.well-known--openid-configuration',
        'ANY--authorize',
        'GET--.well-known--jwks.json',
        'POST--token',
      ].map((r) => `AwsSolutions-APIG4 @ ${S}/Api/HttpApi/${r}/Resource`),
    ].sort(),
  );
  for (const v of nag.suppressedViolations) expect(v.reason.length).toBeGreaterThan(40);
});

test('a finding nobody acknowledged stops the synth (error level) or fails the check above (warning level)', () => {
  const { app, stack } = buildStack({}, { nag: true, outdir });
  new Role(stack, 'TooWide', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  }).addToPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
  new Table(stack, 'Unprotected', { partitionKey: { name: 'id', type: AttributeType.STRING } });
  expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
  const violations = JSON.stringify(awsSolutionsReport(outdir).violations);
  expect(violations).toContain('AwsSolutions-DDB3');
});
