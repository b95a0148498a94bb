/** The app's synthesized template: every security and operations property, plus a scrubbed snapshot. */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { CORS_POLICY } from '../../lambda/cdk-shared/cors-policy.js';
import { buildStack, local, logicalId, resources, templateOf } from './stack-fixture.js';

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
        // The policy the handlers answer preflights with locally (lambda/cdk-shared/cors-policy.ts).
        AllowHeaders: [...CORS_POLICY.allowHeaders],
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

  test('throttling comes from the config file', () => {
    const t = templateOf({
      throttle: { rateLimit: 5, burstLimit: 7 },
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
    const fns = resources(template, 'AWS::Lambda::Function').filter(([id]) =>
      /^(Discovery|Jwks|Token)Function/.test(local(id)),
    );
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
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const week = templateOf({ logRetention: 7 });
    expect(Object.keys(week.findResources('AWS::Logs::LogGroup')).length).toBeGreaterThanOrEqual(4);
    week.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  test('discovery and token get the issuer (the path-less execute-api URL) and the service variables', () => {
    const api = logicalId(template, 'AWS::ApiGatewayV2::Api', 'ApiHttpApi');
    for (const name of ['Discovery', 'Token'] as const) {
      expect(template.toJSON().Resources[fn(name)].Properties.Environment.Variables).toMatchObject({
        ISSUER: { 'Fn::GetAtt': [api, 'ApiEndpoint'] },
        TRUSTED_ISSUERS: '[{"issuer":"https://idp.xaa.dev","jwks_uri":"https://idp.xaa.dev/jwks"}]',
        CORS_ORIGINS: 'https://xaa.dev,https://app.xaa.dev',
        ACCESS_TOKEN_TTL: '3600',
        CLOCK_SKEW: '60',
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
      'CLOCK_SKEW',
      'CORS_ORIGINS',
      'ISSUER',
      'NODE_OPTIONS',
      'TRUSTED_ISSUERS',
    ];
    expect(env('Discovery')).toEqual(service);
    // Only what it serves: its 4 KB of variables are the room for the published keys.
    expect(env('Jwks')).toEqual(['CORS_ORIGINS', 'NODE_OPTIONS', 'PUBLISHED_JWKS']);
    expect(env('Token')).toEqual(
      [
        ...service,
        'CLIENTS_TABLE_NAME',
        'REPLAY_TABLE_NAME',
        'CLIENT_SECRET_PREFIX',
        'SIGNING_KEY_ID',
        'METRICS_NAMESPACE',
        // Its warm-up runs during init, where X-Ray has no trace context (test/aws/bundles.moto.test.ts).
        'AWS_XRAY_CONTEXT_MISSING',
      ].sort(),
    );
    const token = template.toJSON().Resources[fn('Token')].Properties.Environment.Variables;
    expect(token.SIGNING_KEY_ID).toEqual(getAtt(keyId('k2')));
    const jwks = template.toJSON().Resources[fn('Jwks')].Properties.Environment.Variables;
    expect(jwks.PUBLISHED_JWKS).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^AuthServerPublishedJwks/), 'Jwks'],
    });
  });
});

describe('least privilege', () => {
  const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
  const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

  test("no wildcard actions; logs only to the function's own group; the only managed policy is the operator's", () => {
    for (const [, role] of resources(template, 'AWS::IAM::Role'))
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    for (const name of ['Discovery', 'Jwks', 'Token'] as const) {
      expect(allActions(name).filter((a) => a.includes('*'))).toEqual([]);
      expect(statementFor(name, 'logs:PutLogEvents').Resource).toEqual(
        getAtt(logicalId(template, 'AWS::Logs::LogGroup', `${name}FunctionLogs`)),
      );
    }
    expect(resources(template, 'AWS::IAM::ManagedPolicy').map(([id]) => local(id))).toEqual([
      expect.stringMatching(/^OperatorPolicy/),
    ]);
  });

  test('discovery and JWKS: nothing but their logs and traces (the JWKS is published at deploy time)', () => {
    expect(allActions('Discovery')).toEqual([...LOGS, ...XRAY].sort());
    expect(allActions('Jwks')).toEqual([...LOGS, ...XRAY].sort());
  });

  test('no IAM policy grants kms:Sign: only the key policies can', () => {
    const signers = resources(template, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p).includes('kms:Sign'),
    );
    expect(signers).toEqual([]);
  });

  test('token: GetItem on clients, PutItem/DeleteItem on replay, GetSecretValue under the prefix; nothing more', () => {
    expect(allActions('Token')).toEqual(
      [
        ...LOGS,
        ...XRAY,
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
          ':secret:xaa-auth-server/XaaAuthServer-playground/clients/*',
        ],
      ],
    });
  });
});

describe('signing keys', () => {
  type KeyStatement = Statement & {
    Sid?: string;
    Principal: { AWS: unknown };
    Condition?: Record<string, Record<string, string>>;
  };
  const keyPolicy = (t: Template, id: string) =>
    (
      t.toJSON().Resources[logicalId(t, 'AWS::KMS::Key', `SigningKeys${id}`)].Properties
        .KeyPolicy as { Statement: KeyStatement[] }
    ).Statement;
  const roleArn = (t: Template, name: string) => ({
    'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', name), 'Arn'],
  });
  const root = {
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
    ],
  };

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
      AliasName: 'alias/XaaAuthServer-playground/AuthServer/signing/k2',
    });
  });

  test('key policy: exactly three statements; the account administers, only the token role signs (RS256), publishers read', () => {
    for (const k of KEYS) {
      const statements = keyPolicy(template, k.id);
      expect(statements).toHaveLength(3);
      const admin = statements.find((s) => s.Sid === 'KeyAdministrationWithoutUse')!;
      expect(admin.Principal).toEqual({ AWS: root });
      const adminActions = actions(admin);
      for (const forbidden of ['kms:Sign', 'kms:CreateGrant', 'kms:GetPublicKey', 'kms:*'])
        expect(adminActions).not.toContain(forbidden);
      expect(adminActions.filter((a) => a.includes('*'))).toEqual([]);
      expect(adminActions).toEqual(
        expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion']),
      );

      const sign = statements.filter((s) => actions(s).includes('kms:Sign'));
      expect(sign).toHaveLength(1);
      expect(actions(sign[0]!)).toEqual(['kms:Sign']);
      expect(sign[0]!.Principal).toEqual({ AWS: roleArn(template, 'TokenFunctionRole') });
      expect(sign[0]!.Condition).toEqual({
        StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' },
      });

      const read = statements.filter((s) => actions(s).includes('kms:GetPublicKey'));
      expect(read).toHaveLength(1);
      expect(actions(read[0]!)).toEqual(['kms:GetPublicKey']);
      expect(new Set(read[0]!.Principal.AWS as unknown[])).toEqual(
        new Set([
          roleArn(template, 'TokenFunctionRole'),
          roleArn(template, 'PublishedJwksPublisherRole'),
        ]),
      );
    }
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

  test('the switch deploy leaves both the outgoing and the incoming key signable: no 503 window', () => {
    const switched = templateOf({ signingKeys: [{ id: 'k1' }, { id: 'k2', active: true }] });
    for (const id of ['k1', 'k2']) {
      const sign = keyPolicy(switched, id).filter((s) => actions(s).includes('kms:Sign'));
      expect([id, sign.map((s) => s.Principal)]).toEqual([
        id,
        [{ AWS: roleArn(switched, 'TokenFunctionRole') }],
      ]);
    }
  });
});

describe('data safety', () => {
  const clientsTable = (t: Template) =>
    resources(t, 'AWS::DynamoDB::Table').find(([id]) =>
      local(id).startsWith('ClientStoreClientsTable'),
    )?.[1];
  const logGroupOf = (t: Template, name: string) =>
    t.toJSON().Resources[logicalId(t, 'AWS::Logs::LogGroup', `${name}`)];

  test('clients: on demand, point-in-time recovery, deletion protection, retained when the stack is deleted', () => {
    expect(clientsTable(template)!.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [{ AttributeName: 'client_id', KeyType: 'HASH' }],
      DeletionProtectionEnabled: true,
    });
    expect(clientsTable(template)!.DeletionPolicy).toBe('Retain');
    expect(clientsTable(template)!.UpdateReplacePolicy).toBe('Retain');
  });

  test('a throwaway environment may destroy its clients table: then deletion protection is off', () => {
    const t = templateOf({ removalPolicies: { clientsTable: 'destroy' } });
    expect(clientsTable(t)!.DeletionPolicy).toBe('Delete');
    expect(clientsTable(t)!.Properties!.DeletionProtectionEnabled).toBe(false);
  });

  test('a retained clients table is re-attached by name: no table created, every grant and output on it', () => {
    const t = templateOf({ existingClientsTableName: 'XaaAuthServer-prod-ClientsTable-1A2B3C' });
    expect(clientsTable(t)).toBeUndefined();
    const tableArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':dynamodb:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':table/XaaAuthServer-prod-ClientsTable-1A2B3C',
        ],
      ],
    };
    const token = t.toJSON().Resources[logicalId(t, 'AWS::Lambda::Function', 'TokenFunction')];
    expect(token.Properties.Environment.Variables.CLIENTS_TABLE_NAME).toBe(
      'XaaAuthServer-prod-ClientsTable-1A2B3C',
    );
    expect(JSON.stringify(t.toJSON())).toContain(JSON.stringify(tableArn));
    expect((t.toJSON().Outputs as Record<string, { Value: unknown }>).ClientsTableName!.Value).toBe(
      'XaaAuthServer-prod-ClientsTable-1A2B3C',
    );
  });

  test('the audit trail (token log, access log) is retained by default, destroyed only when the file says so', () => {
    const playground = template; // config/playground.json says "auditLogs": "destroy"
    expect(logGroupOf(playground, 'TokenFunctionLogs').DeletionPolicy).toBe('Delete');
    const production = templateOf({ removalPolicies: undefined });
    expect(logGroupOf(production, 'TokenFunctionLogs').DeletionPolicy).toBe('Retain');
    expect(logGroupOf(production, 'ApiAccessLogs').DeletionPolicy).toBe('Retain');
    // Operational logs go with the stack either way.
    expect(logGroupOf(production, 'DiscoveryFunctionLogs').DeletionPolicy).toBe('Delete');
  });

  test('replay: on demand, point-in-time recovery, TTL on expires_at', () => {
    const [, replay] = resources(template, 'AWS::DynamoDB::Table').find(([id]) =>
      local(id).startsWith('ClientStoreReplayTable'),
    )!;
    expect(replay.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
  });
});

describe('operator policy', () => {
  test('DescribeStacks on this stack, item access to the clients table, tagged secrets under the prefix; never reads a secret', () => {
    const [, policy] = resources(template, 'AWS::IAM::ManagedPolicy')[0]!;
    const statements = (
      policy.Properties!.PolicyDocument as {
        Statement: Array<Statement & { Condition?: unknown }>;
      }
    ).Statement;
    const all = statements.flatMap(actions).sort();
    expect(all).toEqual(
      [
        'cloudformation:DescribeStacks',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
        'secretsmanager:DeleteSecret',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    const create = statements.find((s) => actions(s).includes('secretsmanager:CreateSecret'))!;
    expect(create.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/xaa-auth-server:stack': 'XaaAuthServer-playground' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['xaa-auth-server:stack'] },
    });
    expect(JSON.stringify(statements)).not.toContain('GetSecretValue');
    expect(JSON.stringify(statements)).not.toContain('kms:');
    expect(
      (template.toJSON().Outputs as Record<string, { Value: unknown }>).OperatorPolicyArn!.Value,
    ).toEqual({
      Ref: logicalId(template, 'AWS::IAM::ManagedPolicy', 'OperatorPolicy'),
    });
  });
});

describe('stack lifecycle', () => {
  test('the environment name is part of the stack name; only the playground may be deleted without a second step', () => {
    const { stack: playground } = buildStack();
    expect(playground.stackName).toBe('XaaAuthServer-playground');
    expect(playground.terminationProtection).toBe(false);
    const { stack: prod } = buildStack({}, { environment: 'prod' });
    expect(prod.stackName).toBe('XaaAuthServer-prod');
    expect(prod.terminationProtection).toBe(true);
  });
});

describe('outputs and custom domain', () => {
  test('issuer URL, table names, secret prefix and operator policy are outputs under fixed names', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'ActiveSigningKeyArn',
        'ClientSecretPrefix',
        'ClientsTableName',
        'IssuerUrl',
        'OperatorPolicyArn',
        'ReplayTableName',
        'ServiceEnvironment',
      ].sort(),
    );
    // What the admin judges clients and assertions by: the token function's settings, no secret.
    expect(JSON.parse(outputs.ServiceEnvironment!.Value as string)).toEqual({
      TRUSTED_ISSUERS: JSON.stringify([
        { issuer: 'https://idp.xaa.dev', jwks_uri: 'https://idp.xaa.dev/jwks' },
      ]),
      CORS_ORIGINS: 'https://xaa.dev,https://app.xaa.dev',
      ACCESS_TOKEN_TTL: '3600',
      CLOCK_SKEW: '60',
    });
    expect(outputs.IssuerUrl!.Value).toEqual({
      'Fn::GetAtt': [logicalId(template, 'AWS::ApiGatewayV2::Api', 'ApiHttpApi'), 'ApiEndpoint'],
    });
    expect(outputs.ClientsTableName!.Value).toEqual({
      Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreClientsTable'),
    });
    expect(outputs.ReplayTableName!.Value).toEqual({
      Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ClientStoreReplayTable'),
    });
    expect(outputs.ClientSecretPrefix!.Value).toBe(
      'xaa-auth-server/XaaAuthServer-playground/clients/',
    );
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
    for (const [id, f] of resources(t, 'AWS::Lambda::Function')) {
      if (!/^(Discovery|Token)Function/.test(local(id))) continue;
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
