/** The synthesized template: every security and operations property of issue 3, plus a scrubbed snapshot. */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { logicalId, resources, templateOf } from './stack-fixture.js';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const KEYS = [
  { id: 'k1', active: false },
  { id: 'k2', active: true },
  { id: 'k3', active: false },
];

let template: Template;
beforeAll(() => {
  template = templateOf({ signingKeys: KEYS });
});

const fn = (name: 'Discovery' | 'Jwks' | 'Token') =>
  logicalId(template, 'AWS::Lambda::Function', `${name}Function`);
const keyId = (id: string) => logicalId(template, 'AWS::KMS::Key', `SigningKeys${id}`);

/** Every statement granted to a function's role, from any policy attached to it. */
function statementsOf(name: 'Discovery' | 'Jwks' | 'Token'): Statement[] {
  const role = logicalId(template, 'AWS::IAM::Role', `${name}FunctionRole`);
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const allActions = (name: 'Discovery' | 'Jwks' | 'Token') =>
  statementsOf(name).flatMap(actions).sort();
const statementFor = (name: 'Discovery' | 'Jwks' | 'Token', action: string) => {
  const found = statementsOf(name).filter((s) => actions(s).includes(action));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

describe('HTTP API', () => {
  test('exactly the five routes, each to its function', () => {
    const integrations = Object.fromEntries(
      resources(template, 'AWS::ApiGatewayV2::Integration').map(([id, r]) => [
        id,
        r.Properties!.IntegrationUri,
      ]),
    );
    const routes = Object.fromEntries(
      resources(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => {
        const integration = (r.Properties!.Target as { 'Fn::Join': [string, unknown[]] })[
          'Fn::Join'
        ][1][1] as { Ref: string };
        expect(r.Properties!.AuthorizationType).toBe('NONE');
        return [r.Properties!.RouteKey, integrations[integration.Ref]];
      }),
    );
    expect(routes).toEqual({
      'GET /.well-known/oauth-authorization-server': getAtt(fn('Discovery')),
      'GET /.well-known/openid-configuration': getAtt(fn('Discovery')),
      'ANY /authorize': getAtt(fn('Discovery')),
      'GET /.well-known/jwks.json': getAtt(fn('Jwks')),
      'POST /token': getAtt(fn('Token')),
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 3);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  test('CORS for the configured origins only', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      DisableExecuteApiEndpoint: false,
      CorsConfiguration: {
        AllowOrigins: ['https://xaa.dev', 'https://app.xaa.dev'],
        AllowMethods: ['GET', 'POST', 'OPTIONS'],
        AllowHeaders: ['authorization', 'content-type'],
      },
    });
  });

  test('$default stage: stage-wide throttle, a tighter one on POST /token, created after that route', () => {
    const stages = resources(template, 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const stage = stages[0]![1];
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      // PascalCase: RouteSettings is passed to CloudFormation as written.
      RouteSettings: { 'POST /token': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } },
    });
    const tokenRoute = resources(template, 'AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties!.RouteKey === 'POST /token',
    )![0];
    expect(stage.DependsOn).toContain(tokenRoute);
  });

  test('throttling comes from context', () => {
    const t = templateOf({
      throttle: '{"rateLimit": 5, "burstLimit": 7}',
      tokenThrottle: { rateLimit: 1, burstLimit: 2 },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 },
      RouteSettings: { 'POST /token': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } },
    });
  });

  test('JSON access logs, to a log group with retention, without headers or bodies', () => {
    const stage = resources(template, 'AWS::ApiGatewayV2::Stage')[0]![1];
    const settings = stage.Properties!.AccessLogSettings as {
      Format: string;
      DestinationArn: { 'Fn::GetAtt': [string, string] };
    };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(settings.Format).not.toMatch(/header|body|authorization/i);
    const logGroup = settings.DestinationArn['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[logGroup].Properties.RetentionInDays).toBe(30);
  });
});

describe('Lambda functions', () => {
  test('nodejs22.x on arm64, traced, each with its own log group with retention', () => {
    const fns = resources(template, 'AWS::Lambda::Function');
    expect(fns).toHaveLength(3);
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const logGroup = (f.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(template.toJSON().Resources[logGroup].Properties.RetentionInDays).toBe(30);
      expect(
        (f.Properties!.Environment as { Variables: Record<string, unknown> }).Variables
          .NODE_OPTIONS,
      ).toBe('--enable-source-maps');
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 4); // three functions and the access log
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(
      templateOf({ logRetentionDays: 7 }).findResources('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 7 },
      }),
    ).not.toEqual({});
  });

  test('every function gets the issuer (the path-less execute-api URL) and the service variables', () => {
    const api = logicalId(template, 'AWS::ApiGatewayV2::Api', 'ApiHttpApi');
    for (const name of ['Discovery', 'Jwks', 'Token'] as const) {
      expect(template.toJSON().Resources[fn(name)].Properties.Environment.Variables).toMatchObject({
        ISSUER: { 'Fn::GetAtt': [api, 'ApiEndpoint'] },
        TRUSTED_ISSUERS: '[{"issuer":"https://idp.xaa.dev","jwks_uri":"https://idp.xaa.dev/jwks"}]',
        CORS_ORIGINS: 'https://xaa.dev,https://app.xaa.dev',
        ACCESS_TOKEN_TTL: '3600',
      });
    }
  });

  test('each function knows only the resources it uses', () => {
    const env = (name: 'Discovery' | 'Jwks' | 'Token') =>
      Object.keys(
        (template.toJSON().Resources[fn(name)].Properties.Environment as { Variables: object })
          .Variables,
      ).sort();
    const service = [
      'ACCESS_TOKEN_TTL',
      'CORS_ORIGINS',
      'ISSUER',
      'NODE_OPTIONS',
      'TRUSTED_ISSUERS',
    ];
    expect(env('Discovery')).toEqual(service);
    expect(env('Jwks')).toEqual([...service, 'PUBLIC_KEY_IDS'].sort());
    expect(env('Token')).toEqual(
      [
        ...service,
        'CLIENTS_TABLE_NAME',
        'REPLAY_TABLE_NAME',
        'CLIENT_SECRET_PREFIX',
        'SIGNING_KEY_ID',
        'METRICS_NAMESPACE',
      ].sort(),
    );
    const token = template.toJSON().Resources[fn('Token')].Properties.Environment.Variables;
    expect(token.SIGNING_KEY_ID).toEqual(getAtt(keyId('k2')));
    const jwks = template.toJSON().Resources[fn('Jwks')].Properties.Environment.Variables;
    expect(jwks.PUBLIC_KEY_IDS).toEqual({
      'Fn::Join': [',', KEYS.map((k) => getAtt(keyId(k.id)))],
    });
  });
});

describe('least privilege', () => {
  const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
  const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

  test("no managed policies and no wildcard actions anywhere; logs only to the function's own group", () => {
    for (const [, role] of resources(template, 'AWS::IAM::Role'))
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    for (const name of ['Discovery', 'Jwks', 'Token'] as const) {
      expect(allActions(name).filter((a) => a.includes('*'))).toEqual([]);
      expect(statementFor(name, 'logs:PutLogEvents').Resource).toEqual(
        getAtt(logicalId(template, 'AWS::Logs::LogGroup', `${name}FunctionLogs`)),
      );
    }
  });

  test('discovery: nothing but its logs and traces', () => {
    expect(allActions('Discovery')).toEqual([...LOGS, ...XRAY].sort());
  });

  test('JWKS: kms:GetPublicKey on every listed key, nothing else', () => {
    expect(allActions('Jwks')).toEqual([...LOGS, ...XRAY, 'kms:GetPublicKey'].sort());
    expect(statementFor('Jwks', 'kms:GetPublicKey').Resource).toEqual(
      KEYS.map((k) => getAtt(keyId(k.id))),
    );
  });

  test('token: the only kms:Sign in the stack, on the active key alone', () => {
    expect(statementFor('Token', 'kms:Sign').Resource).toEqual(getAtt(keyId('k2')));
    expect(statementFor('Token', 'kms:GetPublicKey').Resource).toEqual(getAtt(keyId('k2')));
    const signers = resources(template, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p).includes('kms:Sign'),
    );
    expect(signers.map(([id]) => id)).toEqual([expect.stringMatching(/^TokenFunctionRole/)]);
  });

  test('token: GetItem on clients, PutItem/DeleteItem on replay, GetSecretValue under the prefix; nothing more', () => {
    expect(allActions('Token')).toEqual(
      [
        ...LOGS,
        ...XRAY,
        'kms:Sign',
        'kms:GetPublicKey',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    expect(statementFor('Token', 'dynamodb:GetItem').Resource).toEqual(
      getAtt(logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreClientsTable')),
    );
    const replay = statementFor('Token', 'dynamodb:PutItem');
    expect(actions(replay).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(replay.Resource).toEqual(
      getAtt(logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreReplayTable')),
    );
    expect(statementFor('Token', 'secretsmanager:GetSecretValue').Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:xaa-auth-server/XaaAuthServer/clients/*',
        ],
      ],
    });
  });
});

describe('signing keys', () => {
  test('one RSA_2048 SIGN_VERIFY key per listed entry, deleted after a 30-day wait when retired', () => {
    const keys = resources(template, 'AWS::KMS::Key');
    expect(keys).toHaveLength(3);
    for (const [, key] of keys) {
      expect(key.Properties).toMatchObject({
        KeySpec: 'RSA_2048',
        KeyUsage: 'SIGN_VERIFY',
        PendingWindowInDays: 30,
      });
      expect(key.Properties!.EnableKeyRotation).toBeUndefined(); // KMS cannot rotate asymmetric keys: rotation is ours
      expect(key.DeletionPolicy).toBe('Delete');
    }
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/XaaAuthServer/signing/k2',
    });
  });

  test('rotation steps change one key at a time: existing keys keep their logical ids', () => {
    const before = templateOf({ signingKeys: [{ id: 'k1', active: true }] });
    const added = templateOf({ signingKeys: [{ id: 'k1', active: true }, { id: 'k2' }] });
    const switched = templateOf({ signingKeys: [{ id: 'k1' }, { id: 'k2', active: true }] });
    const retired = templateOf({ signingKeys: [{ id: 'k2', active: true }] });
    const k1 = logicalId(before, 'AWS::KMS::Key', 'SigningKeysk1');
    expect(logicalId(added, 'AWS::KMS::Key', 'SigningKeysk1')).toBe(k1);
    expect(logicalId(switched, 'AWS::KMS::Key', 'SigningKeysk1')).toBe(k1);
    const k2 = logicalId(added, 'AWS::KMS::Key', 'SigningKeysk2');
    expect(logicalId(retired, 'AWS::KMS::Key', 'SigningKeysk2')).toBe(k2);
    const signingKey = (t: Template) =>
      t.toJSON().Resources[logicalId(t, 'AWS::Lambda::Function', 'TokenFunction')].Properties
        .Environment.Variables.SIGNING_KEY_ID;
    expect(signingKey(added)).toEqual(getAtt(k1)); // a new key is published before it signs
    expect(signingKey(switched)).toEqual(getAtt(k2));
    expect(retired.findResources('AWS::KMS::Key')).not.toHaveProperty(k1);
  });
});

describe('DynamoDB', () => {
  test('clients: on demand, point-in-time recovery, retained when the stack is deleted', () => {
    const [, clients] = resources(template, 'AWS::DynamoDB::Table').find(([id]) =>
      id.startsWith('ClientStoreClientsTable'),
    )!;
    expect(clients.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [{ AttributeName: 'client_id', KeyType: 'HASH' }],
    });
    expect(clients.DeletionPolicy).toBe('Retain');
    expect(clients.UpdateReplacePolicy).toBe('Retain');
  });

  test('replay: on demand, point-in-time recovery, TTL on expires_at', () => {
    const [, replay] = resources(template, 'AWS::DynamoDB::Table').find(([id]) =>
      id.startsWith('ClientStoreReplayTable'),
    )!;
    expect(replay.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
  });
});

describe('outputs and custom domain', () => {
  test('issuer URL, table names and secret prefix are outputs', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.IssuerUrl!.Value).toEqual({
      'Fn::GetAtt': [logicalId(template, 'AWS::ApiGatewayV2::Api', 'ApiHttpApi'), 'ApiEndpoint'],
    });
    expect(outputs.ClientsTableName!.Value).toEqual({
      Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreClientsTable'),
    });
    expect(outputs.ReplayTableName!.Value).toEqual({
      Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreReplayTable'),
    });
    expect(outputs.ClientSecretPrefix!.Value).toBe('xaa-auth-server/XaaAuthServer/clients/');
    expect(outputs.CustomDomainTarget).toBeUndefined();
  });

  test('a custom domain becomes the issuer and the only host name', () => {
    const certificateArn =
      'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc';
    const t = templateOf({ customDomain: { domainName: 'auth.example.com', certificateArn } });
    t.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'auth.example.com',
      DomainNameConfigurations: [
        Match.objectLike({ CertificateArn: certificateArn, EndpointType: 'REGIONAL' }),
      ],
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      DomainName: { Ref: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    for (const [, f] of resources(t, 'AWS::Lambda::Function')) {
      expect(
        (f.Properties!.Environment as { Variables: Record<string, unknown> }).Variables.ISSUER,
      ).toBe('https://auth.example.com');
    }
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.IssuerUrl!.Value).toBe('https://auth.example.com');
    expect(outputs.CustomDomainTarget!.Value).toEqual({
      'Fn::GetAtt': [expect.any(String), 'RegionalDomainName'],
    });
  });
});

test('snapshot of the template, asset hashes scrubbed', () => {
  const json = JSON.stringify(templateOf().toJSON(), null, 1).replace(
    /[0-9a-f]{64}(\.zip)?/g,
    '[asset hash]$1',
  );
  expect(JSON.parse(json)).toMatchSnapshot();
});
