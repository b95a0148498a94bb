/**
 * XaaAuthorizationServer in someone else's app: their stack, their HTTP API, typed props, and an
 * authorizer for their routes that accepts our tokens.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { XaaAuthorizationServer, XaaConfigError } from '../../lib/index.js';
import { resolveServerProps } from '../../lib/server-props.js';
import { ConfigError } from '../../lambda/config.js';

const IDP = { issuer: 'https://login.team.example', jwksUri: 'https://login.team.example/jwks' };

function teamStack() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TeamPlatform', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return { app, stack };
}

test('synthesizes inside a separate app’s stack, and its authorizer protects that team’s own routes', () => {
  const { stack } = teamStack();
  const server = new XaaAuthorizationServer(stack, 'Auth', {
    trustedIssuers: [{ ...IDP, algorithms: ['ES256'], maxAssertionLifetime: Duration.minutes(2) }],
    corsOrigins: ['https://portal.team.example'],
    accessTokenLifetime: Duration.minutes(15),
    maxAccessTokenLifetime: Duration.hours(1),
    clockSkew: Duration.seconds(30),
    scopesSupported: ['orders:read'],
    signingKeys: [{ id: 'a', active: true }],
    throttle: { rateLimit: 200 },
    tokenThrottle: { rateLimit: 25, burstLimit: 50 },
    logRetention: RetentionDays.ONE_YEAR,
    removalPolicies: { auditLogs: RemovalPolicy.RETAIN },
  });

  const teamApi = new HttpApi(stack, 'OrdersApi');
  const orders = new LambdaFunction(stack, 'Orders', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
  });
  teamApi.addRoutes({
    path: '/orders',
    methods: [HttpMethod.GET],
    integration: new HttpLambdaIntegration('OrdersIntegration', orders),
    authorizer: server.jwtAuthorizer('OrdersAuthorizer', 'https://orders.team.example/'),
    authorizationScopes: ['orders:read'],
  });

  const t = Template.fromStack(stack);
  const resolve = (v: string) => stack.resolve(v) as unknown;
  const endpoint = { 'Fn::GetAtt': [expect.stringMatching(/^AuthApiHttpApi/), 'ApiEndpoint'] };
  expect(resolve(server.issuer)).toEqual(endpoint);
  expect(resolve(server.jwksUri)).toEqual({
    'Fn::Join': ['', [endpoint, '/.well-known/jwks.json']],
  });
  expect(resolve(server.tokenEndpoint)).toEqual({ 'Fn::Join': ['', [endpoint, '/token']] });

  t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
    ApiId: { Ref: Match.stringLikeRegexp('^OrdersApi') },
    AuthorizerType: 'JWT',
    JwtConfiguration: {
      Issuer: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthApiHttpApi'), 'ApiEndpoint'] },
      Audience: ['https://orders.team.example/'],
    },
  });
  const tokenFn = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
    id.startsWith('AuthTokenFunction'),
  )![1] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
  expect(tokenFn.Properties.Environment.Variables).toMatchObject({
    TRUSTED_ISSUERS: JSON.stringify([
      {
        ...{ issuer: IDP.issuer, jwks_uri: IDP.jwksUri },
        algorithms: ['ES256'],
        max_assertion_lifetime: 120,
      },
    ]),
    CORS_ORIGINS: 'https://portal.team.example',
    ACCESS_TOKEN_TTL: '900',
    MAX_ACCESS_TOKEN_TTL: '3600',
    CLOCK_SKEW: '30',
    SCOPES_SUPPORTED: 'orders:read',
    METRICS_NAMESPACE: 'TeamPlatform',
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 100 },
    RouteSettings: { 'POST /token': { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 } },
  });
  t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  // The admin CLI's outputs under their fixed names, the secret prefix under the team's stack.
  const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
  expect(outputs.ClientSecretPrefix!.Value).toBe('xaa-auth-server/TeamPlatform/clients/');
  expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['IssuerUrl', 'OperatorPolicyArn']));
});

test('a second server in the same stack leaves the fixed outputs to the first', () => {
  const { stack } = teamStack();
  new XaaAuthorizationServer(stack, 'Auth', { trustedIssuers: [IDP] });
  new XaaAuthorizationServer(stack, 'PartnerAuth', {
    trustedIssuers: [IDP],
    stackOutputs: false,
    clientSecretPrefix: 'xaa-auth-server/TeamPlatform/partner-clients/',
  });
  const t = Template.fromStack(stack);
  const outputs = t.toJSON().Outputs as Record<string, unknown>;
  expect(Object.keys(outputs).filter((k) => k === 'IssuerUrl')).toHaveLength(1);
  // KMS alias names are unique per account and region: each server's carry its id.
  const aliases = Object.values(t.findResources('AWS::KMS::Alias')).map(
    (a) => (a as { Properties: { AliasName: string } }).Properties.AliasName,
  );
  expect(aliases.sort()).toEqual([
    'alias/TeamPlatform/Auth/signing/key-1',
    'alias/TeamPlatform/PartnerAuth/signing/key-1',
  ]);
});

test.each<[string, () => object, RegExp]>([
  ['no trusted issuer', () => ({ trustedIssuers: [] }), /^trustedIssuers: is required/],
  [
    'a lifetime of a fraction of a second',
    () => ({ trustedIssuers: [IDP], accessTokenLifetime: Duration.millis(1500) }),
    /^accessTokenLifetime: must be a whole number of seconds/,
  ],
  [
    'an untrusted-looking IdP',
    () => ({
      trustedIssuers: [{ issuer: 'http://idp.example', jwksUri: 'https://idp.example/k' }],
    }),
    /^trustedIssuers\[0\]\.issuer: must use https/,
  ],
  [
    'a throttle of zero',
    () => ({ trustedIssuers: [IDP], tokenThrottle: { rateLimit: 0 } }),
    /^tokenThrottle\.rateLimit: must be a positive number/,
  ],
  [
    'two IdPs whose users could share a sub (GRANT-SUBJECT)',
    () => ({
      trustedIssuers: [
        { ...IDP, subjectPrefix: 'a' },
        {
          issuer: 'https://idp-b.example',
          jwksUri: 'https://idp-b.example/k',
          subjectPrefix: 'acme|',
        },
      ],
    }),
    /^trustedIssuers\[0\]\.subjectPrefix: "a" begins .*no prefix may begin another/,
  ],
  [
    'a secret prefix without its slash',
    () => ({ trustedIssuers: [IDP], clientSecretPrefix: 'mine' }),
    /^clientSecretPrefix: must be a Secrets Manager name prefix ending in "\/"/,
  ],
])('typed props are checked too: %s', (_, props, message) => {
  const { stack } = teamStack();
  let error: unknown;
  try {
    new XaaAuthorizationServer(stack, 'Auth', props() as never);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(XaaConfigError);
  expect((error as Error).message).toMatch(message);
});

test('a refusal carries its prop path and problem as fields; one lambda/config.ts finds is reworded by variable', () => {
  const refused = (props: object): XaaConfigError => {
    try {
      resolveServerProps(props as never);
    } catch (err) {
      expect(err).toBeInstanceOf(XaaConfigError);
      return err as XaaConfigError;
    }
    throw new Error('expected the props to be refused');
  };
  const jwks = refused({ trustedIssuers: [{ ...IDP, jwksUri: 'https://idp.example/k?x=1' }] });
  expect([jwks.key, jwks.problem]).toEqual([
    'trustedIssuers[0].jwksUri',
    'must have no query or fragment, got "https://idp.example/k?x=1"',
  ]);
  // Found by the functions' own parser: named by the prop the variable is made from.
  const cors = refused({ trustedIssuers: [IDP], corsOrigins: ['https://app.example/'] });
  expect(cors.key).toBe('corsOrigins');
  expect(cors.cause).toBeInstanceOf(ConfigError);
  expect((cors.cause as ConfigError).variable).toBe('CORS_ORIGINS');
  expect(cors.problem).toBe((cors.cause as ConfigError).problem);
  // Alarms and edge protection are checked with the rest, before anything is built.
  expect(refused({ trustedIssuers: [IDP], edgeProtection: { rateLimitPerIp: 5 } }).key).toBe(
    'edgeProtection.rateLimitPerIp',
  );
  expect(refused({ trustedIssuers: [IDP], alarms: { thresholds: { replayCount: 0 } } }).key).toBe(
    'alarms.thresholds.replayCount',
  );
  expect(
    refused({
      trustedIssuers: [IDP],
      edgeProtection: true,
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      },
    }).key,
  ).toBe('customDomain.certificateArn');
  expect(
    refused({
      trustedIssuers: [IDP],
      accessTokenLifetime: Duration.hours(2),
      maxAccessTokenLifetime: Duration.hours(1),
    }).problem,
  ).toBe('must not exceed maxAccessTokenLifetime (3600 seconds), got 7200');
});

test('CIMD-POLICY and GRANT-SCOPE-DEFAULT reach the functions that serve them', () => {
  const { stack } = teamStack();
  new XaaAuthorizationServer(stack, 'Auth', {
    trustedIssuers: [{ ...IDP, defaultScope: 'none' }],
    clientMetadataDocuments: [
      {
        urlPrefix: 'https://agents.example.com/clients/',
        scopes: ['read'],
        resources: ['https://mcp.example.com/mcp'],
        tokenLifetime: Duration.minutes(10),
      },
    ],
  });
  const env = (prefix: string) =>
    (
      Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find(
        ([id]) => id.startsWith(prefix),
      )![1] as { Properties: { Environment: { Variables: Record<string, string> } } }
    ).Properties.Environment.Variables;
  const rules = JSON.stringify([
    {
      url_prefix: 'https://agents.example.com/clients/',
      scopes: ['read'],
      resources: ['https://mcp.example.com/mcp'],
      token_lifetime: 600,
    },
  ]);
  // The token function admits such clients; discovery advertises that it does.
  expect(env('AuthTokenFunction').CLIENT_METADATA_DOCUMENTS).toBe(rules);
  expect(env('AuthDiscoveryFunction').CLIENT_METADATA_DOCUMENTS).toBe(rules);
  expect(JSON.parse(env('AuthTokenFunction').TRUSTED_ISSUERS!)[0].default_scope).toBe('none');
});

test('a CIMD rule the functions would refuse stops the synth, naming the prop', () => {
  const { stack } = teamStack();
  expect(
    () =>
      new XaaAuthorizationServer(stack, 'Auth', {
        trustedIssuers: [IDP],
        clientMetadataDocuments: [
          { urlPrefix: 'https://agents.example.com', scopes: ['read'], resources: ['https://r/'] },
        ],
      }),
  ).toThrow(/^clientMetadataDocuments\[0\]\.urlPrefix: must include a path/);
});

test('a trusted issuer the functions would refuse is named by its prop path, the refusal its cause', () => {
  const refusal = (trustedIssuers: object[]): XaaConfigError => {
    try {
      resolveServerProps({ trustedIssuers } as never);
    } catch (err) {
      expect(err).toBeInstanceOf(XaaConfigError);
      return err as XaaConfigError;
    }
    throw new Error('expected the props to be refused');
  };
  const cause = (err: XaaConfigError) => {
    expect(err.cause).toBeInstanceOf(ConfigError);
    const { variable, path, problem } = err.cause as ConfigError;
    return { variable, path, problem };
  };

  const jwks = refusal([{ ...IDP, jwksUri: 'http://idp.example/k' }]);
  expect(jwks.message).toBe(
    'trustedIssuers[0].jwksUri: must use https (http only on localhost), got "http://idp.example/k"',
  );
  expect(cause(jwks)).toEqual({
    variable: 'TRUSTED_ISSUERS',
    path: [0, 'jwks_uri'],
    problem: jwks.problem,
  });
  // The functions read the same refusal in their variable's words.
  expect((jwks.cause as ConfigError).message).toBe(
    'TRUSTED_ISSUERS: entry 0 "jwks_uri" must use https (http only on localhost), got "http://idp.example/k"',
  );

  // GRANT-SUBJECT: the second IdP's prefix begins the first's.
  const subject = refusal([
    { ...IDP, subjectPrefix: 'acme|' },
    { issuer: 'https://idp-b.example', jwksUri: 'https://idp-b.example/k', subjectPrefix: 'a' },
  ]);
  expect(subject.key).toBe('trustedIssuers[1].subjectPrefix');
  expect(subject.problem).toMatch(
    /^"a" begins "acme\|", the prefix of https:\/\/login\.team\.example/,
  );
  expect(cause(subject)).toEqual({
    variable: 'TRUSTED_ISSUERS',
    path: [1, 'subject_prefix'],
    problem: subject.problem,
  });

  // Each snake_case member is named by its camelCase prop.
  expect(refusal([{ ...IDP, maxAssertionLifetime: undefined, allowReuse: 'yes' }]).key).toBe(
    'trustedIssuers[0].allowReuse',
  );
  expect(refusal([{ ...IDP, defaultScope: 'all' }]).key).toBe('trustedIssuers[0].defaultScope');
  expect(refusal([{ ...IDP, algorithms: ['HS256'] }]).key).toBe('trustedIssuers[0].algorithms');
  expect(refusal([null as never]).key).toBe('trustedIssuers[0]');
  // CLIENT_METADATA_DOCUMENTS likewise.
  expect(() =>
    resolveServerProps({
      trustedIssuers: [IDP],
      clientMetadataDocuments: [
        { urlPrefix: 'https://a.example/', scopes: ['read'], resources: ['https://r/'] },
        {
          urlPrefix: 'https://b.example/',
          scopes: ['read'],
          resources: ['https://r/'],
          dpopBoundRequired: 'yes' as never,
        },
      ],
    }),
  ).toThrow(/^clientMetadataDocuments\[1\]\.dpopBoundRequired: must be true or false$/);
});
