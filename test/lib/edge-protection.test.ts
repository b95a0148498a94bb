/**
 * Edge protection: the WAF in front (per-IP rate limits, managed rules), CloudFront adding the
 * origin secret, and every route refusing requests without it, so the execute-api endpoint
 * cannot be used to go around the WAF.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type HttpRoute,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { EdgeProtection, type EdgeProtectionProps } from '../../lib/edge-protection.js';
import { partStack, resourcesOf, type NagReport } from './part-fixture.js';

const ACCOUNT = '123456789012';

function build(
  region: string | undefined,
  options: Partial<Omit<EdgeProtectionProps, 'httpApi' | 'routes' | 'logRetention'>> = {},
) {
  const part = partStack(region ? { env: { region, account: ACCOUNT } } : {});
  const { stack } = part;
  const httpApi = new HttpApi(stack, 'HttpApi', { createDefaultStage: false });
  const accessLogs = new LogGroup(stack, 'AccessLogs');
  new HttpStage(stack, 'Stage', {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(JSON.stringify({ requestId: '$context.requestId' })),
    },
  });
  const integration = new HttpLambdaIntegration('Integration', part.routeFunction('Fn').function);
  const routes: HttpRoute[] = [
    ['/.well-known/jwks.json', HttpMethod.GET],
    ['/token', HttpMethod.POST],
  ].flatMap(([path, method]) =>
    httpApi.addRoutes({ path: path as string, methods: [method as HttpMethod], integration }),
  );
  const edge = new EdgeProtection(stack, 'Edge', {
    httpApi,
    routes,
    logRetention: RetentionDays.ONE_MONTH,
    ...options,
  });
  return { part, edge, routes };
}

type Props = Record<string, unknown>;
const one = (template: Template, type: string): [string, Props] => {
  const found = resourcesOf(template, type);
  expect(found.map(([id]) => id)).toHaveLength(1);
  return [found[0]![0], found[0]![1].Properties!];
};

let template: Template;
let nag: NagReport;
let url: string;
beforeAll(() => {
  const built = build('us-east-1');
  url = built.part.stack.resolve(built.edge.url) as string;
  ({ template, nag } = built.part.synth());
}, 120_000);

test('a CLOUDFRONT web ACL: per-IP rate limits (POST /token, then all paths), then AWS managed rules', () => {
  const [, acl] = one(template, 'AWS::WAFv2::WebACL');
  expect(acl.Scope).toBe('CLOUDFRONT');
  expect(acl.DefaultAction).toEqual({ Allow: {} });
  const rules = acl.Rules as Array<Props & { Name: string; Priority: number; Statement: Props }>;
  expect(rules.map((r) => [r.Priority, r.Name])).toEqual([
    [0, 'TokenRequestsPerIp'],
    [1, 'RequestsPerIp'],
    [2, 'AWSManagedRulesAmazonIpReputationList'],
    [3, 'AWSManagedRulesKnownBadInputsRuleSet'],
    [4, 'AWSManagedRulesCommonRuleSet'],
  ]);
  expect(rules[0]!.Statement).toEqual({
    RateBasedStatement: {
      Limit: 300,
      AggregateKeyType: 'IP',
      EvaluationWindowSec: 300,
      ScopeDownStatement: {
        ByteMatchStatement: {
          FieldToMatch: { UriPath: {} },
          PositionalConstraint: 'EXACTLY',
          SearchString: '/token',
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      },
    },
  });
  expect(rules[1]!.Statement).toEqual({
    RateBasedStatement: { Limit: 1500, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
  });
  for (const rule of rules.slice(0, 2)) {
    expect(rule.Action).toEqual({
      Block: {
        CustomResponse: {
          ResponseCode: 429,
          CustomResponseBodyKey: 'tooManyRequests',
          ResponseHeaders: [{ Name: 'retry-after', Value: '60' }],
        },
      },
    });
  }
  for (const rule of rules.slice(2)) {
    expect(rule.OverrideAction).toEqual({ None: {} });
    expect(rule.Statement).toEqual({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: rule.Name },
    });
  }
  const body = (acl.CustomResponseBodies as Record<string, { Content: string }>).tooManyRequests!;
  expect(JSON.parse(body.Content)).toEqual({
    error: 'temporarily_unavailable',
    error_description: expect.any(String),
  });
});

test('CloudFront fronts the execute-api host over TLS, with the web ACL and the origin secret header', () => {
  const [aclId] = one(template, 'AWS::WAFv2::WebACL');
  const [secretId] = one(template, 'AWS::SecretsManager::Secret');
  const [, dist] = one(template, 'AWS::CloudFront::Distribution');
  const config = dist.DistributionConfig as Props & {
    Origins: Props[];
    DefaultCacheBehavior: Props;
  };
  expect(config.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
  const [origin] = config.Origins;
  expect(origin!.DomainName).toEqual({
    'Fn::Select': [
      2,
      { 'Fn::Split': ['/', { 'Fn::GetAtt': [expect.stringMatching(/^HttpApi/), 'ApiEndpoint'] }] },
    ],
  });
  expect(origin!.CustomOriginConfig).toMatchObject({
    OriginProtocolPolicy: 'https-only',
    OriginSSLProtocols: ['TLSv1.2'],
  });
  expect(origin!.OriginCustomHeaders).toEqual([
    {
      HeaderName: 'x-origin-verify',
      HeaderValue: {
        'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']],
      },
    },
  ]);
  expect(config.DefaultCacheBehavior).toMatchObject({
    ViewerProtocolPolicy: 'https-only',
    AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
    // AWS's managed CachingDisabled and AllViewerExceptHostHeader policies.
    CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
  });
  expect(url).toEqual({
    'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.any(String), 'DomainName'] }]],
  });
});

test('the direct endpoint is unusable: every route requires the header CloudFront adds, checked against the same secret', () => {
  const [secretId] = one(template, 'AWS::SecretsManager::Secret');
  const [authorizerId, authorizer] = one(template, 'AWS::ApiGatewayV2::Authorizer');
  expect(authorizer).toMatchObject({
    AuthorizerType: 'REQUEST',
    // API Gateway itself refuses a request without the header (401) before any invocation.
    IdentitySource: ['$request.header.x-origin-verify'],
    EnableSimpleResponses: true,
    AuthorizerPayloadFormatVersion: '2.0',
    AuthorizerResultTtlInSeconds: 300,
  });
  const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');
  expect(routes).toHaveLength(2);
  for (const [, route] of routes) {
    expect(route.Properties).toMatchObject({
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
  }
  const verify = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) =>
    id.startsWith('EdgeOriginVerify'),
  )![1];
  expect(
    (verify.Properties!.Environment as { Variables: Props }).Variables.ORIGIN_VERIFY_SECRET,
  ).toEqual({
    'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']],
  });
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    Principal: 'apigateway.amazonaws.com',
    FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EdgeOriginVerify'), 'Arn'] },
  });
});

test('cdk-nag passes; each acknowledged finding has its reason', () => {
  expect(nag.conclusion).toBe('success');
  expect(nag.violations).toEqual([]);
  expect(nag.acknowledged).toEqual(
    [
      'AwsSolutions-CFR1 @ Part/Edge/Distribution/Resource',
      'AwsSolutions-CFR3 @ Part/Edge/Distribution/Resource',
      'AwsSolutions-CFR4 @ Part/Edge/Distribution/Resource',
      'AwsSolutions-IAM5[Resource::*] @ Part/Edge/OriginVerify/Role/DefaultPolicy/Resource',
      'AwsSolutions-L1 @ Part/Edge/OriginVerify/Function/Resource',
      'AwsSolutions-SMG4 @ Part/Edge/OriginSecret/Resource',
    ].sort(),
  );
  for (const reason of nag.reasons) expect(reason.length).toBeGreaterThan(40);
});

test('outside us-east-1: the web ACL comes by ARN; making one there, or a certificate from elsewhere, is refused', () => {
  expect(() => build('eu-west-1')).toThrow(
    /^webAclArn: is required in eu-west-1: a web ACL for CloudFront must be created in us-east-1/,
  );
  const webAclArn = `arn:aws:wafv2:us-east-1:${ACCOUNT}:global/webacl/edge/0000`;
  const { template: elsewhere } = build('eu-west-1', {
    webAclArn,
    customDomain: {
      domainName: 'auth.example.com',
      certificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/abc`,
    },
  }).part.synth();
  elsewhere.resourceCountIs('AWS::WAFv2::WebACL', 0);
  const [, dist] = one(elsewhere, 'AWS::CloudFront::Distribution');
  expect(dist.DistributionConfig).toMatchObject({
    WebACLId: webAclArn,
    Aliases: ['auth.example.com'],
    ViewerCertificate: {
      AcmCertificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/abc`,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    },
  });
  expect(() =>
    build('us-east-1', {
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/abc`,
      },
    }),
  ).toThrow(/certificate in us-east-1, not eu-west-1/);
  expect(() => build('us-east-1', { rateLimitPerIp: 5 })).toThrow(
    /^rateLimitPerIp: must be a whole number/,
  );
}, 120_000);
