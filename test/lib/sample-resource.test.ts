/** The optional sample resource: routes behind an HttpJwtAuthorizer whose issuer and audience are ours. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { buildStack, local, resources, templateOf } from './stack-fixture.js';

test('off by default: no authorizer, no resource routes', () => {
  const t = templateOf();
  t.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  expect(
    resources(t, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!.RouteKey),
  ).not.toContain('GET /api/profile');
});

test('with a custom domain: the authorizer trusts our issuer, the audience is the configured resource, scopes per route', () => {
  const t = templateOf({
    customDomain: {
      domainName: 'auth.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
    },
    sampleResource: { resource: 'https://api.example.com/' },
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
    AuthorizerType: 'JWT',
    IdentitySource: ['$request.header.Authorization'],
    JwtConfiguration: {
      Issuer: 'https://auth.example.com',
      Audience: ['https://api.example.com/'],
    },
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'GET /api/profile',
    AuthorizationType: 'JWT',
    AuthorizationScopes: ['read'],
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'POST /api/notes',
    AuthorizationType: 'JWT',
    AuthorizationScopes: ['write'],
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'GET /.well-known/oauth-protected-resource',
    AuthorizationType: 'NONE',
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({
        ISSUER: 'https://auth.example.com',
        RESOURCE: 'https://api.example.com/',
      }),
    },
  });
});

test('on the execute-api host: issuer is the API endpoint, the default audience that issuer plus "/"', () => {
  const t = templateOf({ sampleResource: true });
  const authorizers = resources(t, 'AWS::ApiGatewayV2::Authorizer');
  expect(authorizers).toHaveLength(1);
  const jwt = authorizers[0]![1].Properties!.JwtConfiguration as {
    Issuer: unknown;
    Audience: unknown[];
  };
  const issuer = JSON.stringify(jwt.Issuer);
  expect(issuer).toMatch(/"Fn::GetAtt":\["AuthServerApiHttpApi[0-9A-F]+","ApiEndpoint"\]/);
  expect(jwt.Audience).toEqual([{ 'Fn::Join': ['', [jwt.Issuer, '/']] }]);
  // The token function's ISSUER is the same expression the authorizer trusts.
  const tokenFn = resources(t, 'AWS::Lambda::Function').find(([id]) =>
    local(id).startsWith('TokenFunction'),
  )![1];
  expect(
    JSON.stringify(
      (tokenFn.Properties!.Environment as { Variables: { ISSUER: unknown } }).Variables.ISSUER,
    ),
  ).toBe(issuer);
});

test('a malformed sampleResource stops the synth', () => {
  expect(() => templateOf({ sampleResource: { resource: 'http://insecure.example/' } })).toThrow(
    /sampleResource/,
  );
  expect(() => templateOf({ sampleResource: { audience: 'x' } })).toThrow(
    /sampleResource\.audience: unknown key/,
  );
});

test('cdk-nag passes with the sample resource too', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'xaa-nag-sample-'));
  try {
    const { app } = buildStack({ sampleResource: true }, { nag: true, outdir });
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ pluginName: string; violations: unknown[] }>;
    };
    expect(report.pluginReports.find((p) => p.pluginName === 'AwsSolutions')!.violations).toEqual(
      [],
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

test('with dpop: no JWT authorizer on the routes, the function checks token and proof itself', async () => {
  const { App, Stack } = await import('aws-cdk-lib');
  const { Template } = await import('aws-cdk-lib/assertions');
  const { HttpApi } = await import('aws-cdk-lib/aws-apigatewayv2');
  const { RetentionDays } = await import('aws-cdk-lib/aws-logs');
  const { SampleResource } = await import('../../lib/sample-resource.js');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'DpopResource');
  new SampleResource(stack, 'Resource', {
    httpApi: new HttpApi(stack, 'Api'),
    issuer: 'https://auth.example.com',
    resource: 'https://api.example.com/',
    logRetention: RetentionDays.ONE_WEEK,
    entry: new URL('../../lambda/example-resources/sample/lambda.ts', import.meta.url).pathname,
    dpop: true,
  });
  const t = Template.fromStack(stack);
  // API Gateway's JWT authorizer cannot check a DPoP proof, and would take a bound token as Bearer.
  for (const key of ['GET /api/profile', 'POST /api/notes'])
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: key,
      AuthorizationType: 'NONE',
    });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ TOKEN_CHECK: 'function' }) },
  });
});
