/**
 * The construct with `alarms` and `edgeProtection` on, as a config file turns them on: the alarms
 * watch this server's functions and API, and behind edge protection the issuer is CloudFront's and
 * every authorization-server route requires CloudFront's origin secret.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { ALARM_IDS } from '../../lib/observability.js';
import { buildStack, local, resources } from './stack-fixture.js';

const S = 'XaaAuthServer-playground/AuthServer';
let outdir: string;
let template: Template;
let nag: { conclusion: string; violations: unknown[]; acknowledged: string[] };

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'xaa-options-'));
  const { app, stack } = buildStack(
    { alarms: { email: 'ops@example.com' }, edgeProtection: { rateLimitPerIp: 600 } },
    { nag: true, outdir },
  );
  app.synth();
  template = Template.fromStack(stack);
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{
      pluginName: string;
      conclusion: string;
      violations: unknown[];
      suppressedViolations: Array<{
        ruleName: string;
        violatingConstructs: Array<{ constructPath: string }>;
      }>;
    }>;
  };
  const aws = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions')!;
  nag = {
    conclusion: aws.conclusion,
    violations: aws.violations,
    acknowledged: aws.suppressedViolations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`),
    ),
  };
}, 180_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const fnId = (name: string) =>
  resources(template, 'AWS::Lambda::Function').find(([id]) =>
    local(id).startsWith(`${name}Function`),
  )![0];

test('alarms: the twelve, on this server’s functions and API, notifying the e-mail topic', () => {
  const alarms = resources(template, 'AWS::CloudWatch::Alarm');
  expect(
    alarms
      .map(([id]) =>
        local(id)
          .replace(/^Observability/, '')
          .replace(/[0-9A-F]{8}$/, ''),
      )
      .sort(),
  ).toEqual([...ALARM_IDS].sort());
  const json = JSON.stringify(alarms);
  for (const name of ['Discovery', 'Jwks', 'Token'])
    expect([name, json.includes(`{"Ref":"${fnId(name)}"}`)]).toEqual([name, true]);
  const [apiId] = resources(template, 'AWS::ApiGatewayV2::Api')[0]!;
  expect(json.includes(`{"Name":"ApiId","Value":{"Ref":"${apiId}"}}`)).toBe(true);
  // The token function's metrics namespace is the stack name.
  const tokenEnv = template.toJSON().Resources[fnId('Token')].Properties.Environment.Variables;
  expect(tokenEnv.METRICS_NAMESPACE).toBe('XaaAuthServer-playground');
  expect(json.includes('"MetricName":"TokenRequests","Namespace":"XaaAuthServer-playground"')).toBe(
    true,
  );
  template.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: 'ops@example.com',
  });
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  const [, stage] = resources(template, 'AWS::ApiGatewayV2::Stage')[0]!;
  expect(stage.Properties!.DefaultRouteSettings).toMatchObject({ DetailedMetricsEnabled: true });
});

test('edge protection: the issuer is CloudFront’s host, for the output and every function', () => {
  const [distId] = resources(template, 'AWS::CloudFront::Distribution')[0]!;
  const issuer = {
    'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distId, 'DomainName'] }]],
  };
  expect(template.toJSON().Outputs.IssuerUrl.Value).toEqual(issuer);
  for (const name of ['Discovery', 'Token']) {
    const fn = template.toJSON().Resources[fnId(name)];
    expect([name, fn.Properties.Environment.Variables.ISSUER]).toEqual([name, issuer]);
  }
  const [, acl] = resources(template, 'AWS::WAFv2::WebACL')[0]!;
  expect(acl.Properties).toMatchObject({ Scope: 'CLOUDFRONT' });
  expect(JSON.stringify(acl.Properties!.Rules)).toContain('"Limit":600');
});

test('edge protection: every authorization-server route requires the origin secret', () => {
  const [authorizerId] = resources(template, 'AWS::ApiGatewayV2::Authorizer')[0]!;
  const routes = resources(template, 'AWS::ApiGatewayV2::Route');
  expect(routes.length).toBeGreaterThanOrEqual(4);
  for (const [, route] of routes) {
    expect([
      route.Properties!.RouteKey,
      route.Properties!.AuthorizationType,
      route.Properties!.AuthorizerId,
    ]).toEqual([route.Properties!.RouteKey, 'CUSTOM', { Ref: authorizerId }]);
  }
});

test('cdk-nag passes with both on; the new findings are the edge’s own, acknowledged in it', () => {
  expect(nag.conclusion).toBe('success');
  expect(nag.violations).toEqual([]);
  const edge = nag.acknowledged.filter((a) => a.includes(`${S}/EdgeProtection/`)).sort();
  expect(edge).toEqual(
    [
      `AwsSolutions-CFR1 @ ${S}/EdgeProtection/Distribution/Resource`,
      `AwsSolutions-CFR3 @ ${S}/EdgeProtection/Distribution/Resource`,
      `AwsSolutions-CFR4 @ ${S}/EdgeProtection/Distribution/Resource`,
      `AwsSolutions-IAM5[Resource::*] @ ${S}/EdgeProtection/OriginVerify/Role/DefaultPolicy/Resource`,
      `AwsSolutions-L1 @ ${S}/EdgeProtection/OriginVerify/Function/Resource`,
      `AwsSolutions-SMG4 @ ${S}/EdgeProtection/OriginSecret/Resource`,
    ].sort(),
  );
  // Routes behind the origin check have an authorizer: no "no authorization" finding to accept.
  expect(nag.acknowledged.filter((a) => a.startsWith('AwsSolutions-APIG4'))).toEqual([]);
  expect(nag.acknowledged.filter((a) => a.includes('/Observability/'))).toEqual([]);
});

test('edge protection with a custom domain: the domain is CloudFront’s, the output points there', () => {
  const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
  const { stack } = buildStack({
    edgeProtection: true,
    customDomain: { domainName: 'auth.example.com', certificateArn },
  });
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
  t.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: false });
  const [distId, dist] = resources(t, 'AWS::CloudFront::Distribution')[0]!;
  expect(dist.Properties!.DistributionConfig).toMatchObject({ Aliases: ['auth.example.com'] });
  const outputs = t.toJSON().Outputs;
  expect(outputs.IssuerUrl.Value).toBe('https://auth.example.com');
  expect(outputs.CustomDomainTarget.Value).toEqual({ 'Fn::GetAtt': [distId, 'DomainName'] });
}, 120_000);

test('mistakes name the key: e-mail and topic together, a rate limit WAF cannot take', () => {
  expect(() =>
    buildStack({ alarms: { email: 'ops@example.com', topicArn: 'arn:aws:sns:us-east-1:1:t' } }),
  ).toThrow(/^alarms: give one of "email", "topicArn" and "topic"/);
  expect(() => buildStack({ edgeProtection: { rateLimitPerIp: 5 } })).toThrow(
    /^edgeProtection.rateLimitPerIp: must be a whole number/,
  );
}, 120_000);
