/**
 * The construct speaks CDK: it takes the app's certificate, hosted zone and table as objects, sizes
 * and protects its token function, offers grant and metric methods, stays clean under cdk-nag with
 * a pinned `env`, and refuses what cannot work (a certificate in another region, a zone without the
 * domain, a reservation the account cannot give, two servers sharing client secrets) at synth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { PublicHostedZone } from 'aws-cdk-lib/aws-route53';
import { AwsSolutionsChecks } from 'cdk-nag';
import { XaaAuthorizationServer, type XaaAuthorizationServerProps } from '../../lib/index.js';
import { loadEnvironmentConfig, parseEnvironmentConfig } from '../../lib/environment-config.js';
import { XaaAuthServerStack, stackNameFor } from '../../lib/xaa-auth-server-stack.js';
import { awsSolutionsReport } from './part-fixture.js';

const IDPS = [
  {
    issuer: 'https://login.team.example',
    jwksUri: 'https://login.team.example/jwks',
    subjectPrefix: 'team|',
  },
  {
    issuer: 'https://partner.example.net',
    jwksUri: 'https://partner.example.net/jwks',
    subjectPrefix: 'partner|',
  },
];
const ENV = { account: '111122223333', region: 'eu-west-1' };

function stackIn(options: { env?: typeof ENV; outdir?: string } = {}) {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    ...(options.outdir && { outdir: options.outdir }),
  });
  return { app, stack: new Stack(app, 'Team', { ...(options.env && { env: options.env }) }) };
}

function server(props: Partial<XaaAuthorizationServerProps> = {}, env: typeof ENV | null = ENV) {
  const { stack } = stackIn(env ? { env } : {});
  const s = new XaaAuthorizationServer(stack, 'Auth', { trustedIssuers: IDPS, ...props });
  return { stack, server: s, template: () => Template.fromStack(stack) };
}

describe('with a pinned env', () => {
  let outdir: string;
  beforeEach(() => (outdir = mkdtempSync(join(tmpdir(), 'xaa-env-'))));
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  test.each([
    ['pinned', ENV],
    ['environment-agnostic', undefined],
  ])('cdk-nag passes, every finding acknowledged (%s)', (_, env) => {
    const { app, stack } = stackIn({ outdir, ...(env && { env }) });
    new XaaAuthorizationServer(stack, 'Auth', { trustedIssuers: IDPS });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    const nag = awsSolutionsReport(outdir);
    expect(nag.violations).toEqual([]);
    expect(nag.conclusion).toBe('success');
    const secretFinding = nag.suppressedViolations.find((v) =>
      v.ruleName.includes(':secretsmanager:'),
    );
    expect(secretFinding?.ruleName).toContain(env ? 'eu-west-1:111122223333' : '<AWS::Region>');
  });
});

describe('custom domain', () => {
  const arnIn = (region: string) =>
    `arn:aws:acm:${region}:111122223333:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`;

  test("takes the app's certificate and hosted zone: A and AAAA alias records to the API", () => {
    const { stack } = stackIn({ env: ENV });
    const zone = new PublicHostedZone(stack, 'Zone', { zoneName: 'example.com' });
    const certificate = new Certificate(stack, 'Cert', { domainName: 'auth.example.com' });
    const s = new XaaAuthorizationServer(stack, 'Auth', {
      trustedIssuers: IDPS,
      customDomain: { domainName: 'auth.example.com', certificate, hostedZone: zone },
    });
    const t = Template.fromStack(stack);
    const certId = stack.getLogicalId(certificate.node.defaultChild as never);
    t.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'auth.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: { Ref: certId } })],
    });
    for (const type of ['A', 'AAAA'])
      t.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'auth.example.com.',
        Type: type,
        HostedZoneId: { Ref: stack.getLogicalId(zone.node.defaultChild as never) },
        AliasTarget: {
          DNSName: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^AuthApiCustomDomain'), 'RegionalDomainName'],
          },
          HostedZoneId: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^AuthApiCustomDomain'), 'RegionalHostedZoneId'],
          },
        },
      });
    expect(s.aliasRecords).toHaveLength(2);
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.CustomDomainHostedZoneId!.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^AuthApiCustomDomain/), 'RegionalHostedZoneId'],
    });
  });

  test('a hosted zone by id and name, as a config file gives it', () => {
    const t = server({
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: arnIn('eu-west-1'),
        hostedZone: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' },
      },
    }).template();
    t.resourcePropertiesCountIs(
      'AWS::Route53::RecordSet',
      { HostedZoneId: 'Z0123456789ABCDEFGHIJ' },
      2,
    );
  });

  test('refused at synth: a certificate in another region, a zone without the domain, both or no certificate', () => {
    expect(() =>
      server({
        customDomain: { domainName: 'auth.example.com', certificateArn: arnIn('us-east-1') },
      }),
    ).toThrow(
      /^customDomain.certificateArn: the certificate is in us-east-1, the API in eu-west-1/,
    );
    expect(() =>
      server({
        customDomain: {
          domainName: 'auth.example.com',
          certificateArn: arnIn('eu-west-1'),
          hostedZone: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.org' },
        },
      }),
    ).toThrow(
      /^customDomain.hostedZone.zoneName: the zone example.org does not contain the domain auth.example.com/,
    );
    expect(() => server({ customDomain: { domainName: 'auth.example.com' } })).toThrow(
      /^customDomain: give "certificate" or "certificateArn"/,
    );
    // Environment-agnostic: the region is not known at synth, so the check waits for deploy.
    expect(() =>
      server(
        { customDomain: { domainName: 'auth.example.com', certificateArn: arnIn('us-east-1') } },
        null,
      ),
    ).not.toThrow();
  });
});

test("takes the app's clients table: the token role reads it, the operator administers it", () => {
  const { stack } = stackIn({ env: ENV });
  const table = new Table(stack, 'Clients', {
    partitionKey: { name: 'client_id', type: AttributeType.STRING },
  });
  new XaaAuthorizationServer(stack, 'Auth', { trustedIssuers: IDPS, existingClientsTable: table });
  const t = Template.fromStack(stack);
  const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(table.node.defaultChild as never), 'Arn'] };
  const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
        .Statement,
  ) as Array<{ Action: unknown; Resource: unknown }>;
  const onTable = statements.filter((st) =>
    JSON.stringify(st.Resource).includes(JSON.stringify(tableArn)),
  );
  expect(onTable.map((st) => st.Action)).toContainEqual('dynamodb:GetItem');
  // No table of its own.
  t.resourceCountIs('AWS::DynamoDB::Table', 2);
  // A name from the same app is a deploy-time token: accepted as well.
  const other = stackIn({ env: ENV }).stack;
  const named = new Table(other, 'Clients', {
    partitionKey: { name: 'client_id', type: AttributeType.STRING },
  });
  expect(
    () =>
      new XaaAuthorizationServer(other, 'Auth', {
        trustedIssuers: IDPS,
        existingClientsTableName: named.tableName,
      }),
  ).not.toThrow();
  expect(() =>
    server({ existingClientsTable: table, existingClientsTableName: 'clients' }),
  ).toThrow(/^existingClientsTable: give "existingClientsTable" or "existingClientsTableName"/);
});

describe('token function sizing', () => {
  test('memory, timeout and reserved concurrency reach the function', () => {
    const t = server({
      tokenFunction: { memorySize: 1024, timeout: Duration.seconds(15), reservedConcurrency: 40 },
    }).template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Token endpoint'),
      MemorySize: 1024,
      Timeout: 15,
      ReservedConcurrentExecutions: 40,
    });
  });

  test('provisioned concurrency: a live alias of the current version, which API Gateway invokes', () => {
    const t = server({
      tokenFunction: { reservedConcurrency: 20, provisionedConcurrency: 5 },
    }).template();
    const [aliasId] = Object.keys(
      t.findResources('AWS::Lambda::Alias', {
        Properties: {
          Name: 'live',
          ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 5 },
        },
      }),
    );
    expect(aliasId).toBeDefined();
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationUri: { Ref: aliasId } });
  });

  test('the defaults: 512 MB, 10 s, no reservation, no alias', () => {
    const t = server().template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Token endpoint'),
      MemorySize: 512,
      Timeout: 10,
      ReservedConcurrentExecutions: Match.absent(),
    });
    t.resourceCountIs('AWS::Lambda::Alias', 0);
  });

  test.each([
    [
      { memorySize: 64 },
      /^tokenFunction.memorySize: must be a whole number of MB from 128 to 10240/,
    ],
    [{ timeout: Duration.seconds(30) }, /^tokenFunction.timeout: must be at most 29 seconds/],
    [
      { reservedConcurrency: 950 },
      /^tokenFunction.reservedConcurrency: must be from 1 to 900: Lambda keeps 100/,
    ],
    [
      { reservedConcurrency: 10, provisionedConcurrency: 11 },
      /^tokenFunction.provisionedConcurrency: must be from 1 to reservedConcurrency \(10\)/,
    ],
  ])('refused at synth: %j', (tokenFunction, message) => {
    expect(() => server({ tokenFunction })).toThrow(message);
  });

  test('a larger account quota, said so, allows a larger reservation', () => {
    expect(() =>
      server({ tokenFunction: { reservedConcurrency: 950, accountConcurrencyLimit: 3000 } }),
    ).not.toThrow();
  });
});

describe('two servers in one stack', () => {
  test('the same client-secret prefix stops synth, naming both', () => {
    const { stack } = stackIn({ env: ENV });
    new XaaAuthorizationServer(stack, 'A', {
      trustedIssuers: IDPS,
      clientSecretPrefix: 'team/clients/',
    });
    expect(
      () =>
        new XaaAuthorizationServer(stack, 'B', {
          trustedIssuers: IDPS,
          clientSecretPrefix: 'team/clients/b/',
          stackOutputs: false,
        }),
    ).toThrow(/^clientSecretPrefix: Team\/B would share client secrets with Team\/A/);
  });

  test('the default prefixes collide too; distinct prefixes synthesize', () => {
    const { stack } = stackIn({ env: ENV });
    new XaaAuthorizationServer(stack, 'A', { trustedIssuers: IDPS });
    expect(
      () => new XaaAuthorizationServer(stack, 'B', { trustedIssuers: IDPS, stackOutputs: false }),
    ).toThrow(/would share client secrets/);
    const other = stackIn({ env: ENV }).stack;
    new XaaAuthorizationServer(other, 'A', { trustedIssuers: IDPS, clientSecretPrefix: 'a/' });
    new XaaAuthorizationServer(other, 'B', {
      trustedIssuers: IDPS,
      clientSecretPrefix: 'b/',
      stackOutputs: false,
    });
    expect(() => Template.fromStack(other)).not.toThrow();
  });
});

describe('grant and metric methods', () => {
  test('grantClientAdministration gives a role what the admin CLI needs; grantReadClients, the reads', () => {
    const { stack, server: s } = server();
    const admin = new Role(stack, 'Admin', { assumedBy: new AccountRootPrincipal() });
    const reader = new Role(stack, 'Reader', { assumedBy: new AccountRootPrincipal() });
    s.grantClientAdministration(admin);
    s.grantReadClients(reader);
    const t = Template.fromStack(stack);
    const policyOf = (role: Role) =>
      Object.values(
        t.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as never) }] },
        }),
      )[0] as {
        Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } };
      };
    const actions = (role: Role) =>
      policyOf(role)
        .Properties.PolicyDocument.Statement.flatMap((st) => [st.Action].flat())
        .sort();
    expect(actions(admin)).toEqual(
      expect.arrayContaining([
        'cloudformation:DescribeStacks',
        'dynamodb:PutItem',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
      ]),
    );
    expect(actions(admin)).not.toContain('secretsmanager:GetSecretValue');
    expect(actions(reader)).toContain('dynamodb:GetItem');
    expect(actions(reader)).not.toContain('dynamodb:PutItem');
  });

  test('metrics name the token function’s namespace, service and refusal dimensions', () => {
    const { stack, server: s } = server();
    const refused = s.metricTokenRequestsRefused('invalid_client', 'client_secret_mismatch');
    expect(refused.namespace).toBe(stack.stackName);
    expect(refused.metricName).toBe('TokenRequestsRefused');
    expect(refused.dimensions).toEqual({
      service: 'xaa-auth-server',
      error: 'invalid_client',
      reason: 'client_secret_mismatch',
    });
    expect(s.metricTokensIssued().metricName).toBe('TokensIssued');
    expect(s.metricTokenRequests({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
    expect(s.metricTokenLatency().dimensions).toMatchObject({ Method: 'POST', Resource: '/token' });
  });
});

describe('the shipped environments', () => {
  const synth = (name: string) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const environment = loadEnvironmentConfig(name);
    const stack = new XaaAuthServerStack(app, stackNameFor(name), { environment });
    return { stack, template: Template.fromStack(stack) };
  };

  test('example-production: pinned account and region, alarms to an e-mail topic, a dashboard', () => {
    const { stack, template } = synth('example-production');
    expect([stack.account, stack.region]).toEqual(['123456789012', 'eu-west-1']);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThan(
      10,
    );
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    for (const [, alarm] of Object.entries(template.findResources('AWS::CloudWatch::Alarm')))
      expect(
        (alarm as { Properties: { AlarmActions?: unknown[] } }).Properties.AlarmActions,
      ).toHaveLength(1);
  });

  test('playground: no alarms and no dashboard unless its file asks', () => {
    const { template } = synth('playground');
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    // A throwaway environment: its file destroys the audit logs, and nothing else keeps any.
    const logGroups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThanOrEqual(6);
    for (const [id, group] of logGroups)
      expect([id, (group as { DeletionPolicy?: string }).DeletionPolicy]).toEqual([id, 'Delete']);
  });
});

describe("each function's environment", () => {
  // Lengths as enterprise IdPs have them: a 43-character issuer, its keys 15 characters further.
  const idps = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const issuer = `https://login-${String(i).padStart(2, '0')}.sso.example-enterprise.com`;
      return { issuer, jwksUri: `${issuer}/oauth2/v1/keys`, subjectPrefix: `idp${i}|` };
    });
  const synth = (trustedIssuers: ReturnType<typeof idps>) => {
    const { app, stack } = stackIn({ env: ENV });
    new XaaAuthorizationServer(stack, 'Auth', {
      trustedIssuers,
      signingKeys: [{ id: 'old' }, { id: 'new', active: true }],
    });
    return () => app.synth();
  };

  test('20 IdPs with realistic URLs, during a rotation (two keys): the JWKS has its room', () => {
    expect(synth(idps(20))).not.toThrow();
  });

  test('a trusted-issuer list over 4 KB stops synth, naming the function', () => {
    expect(synth(idps(40))).toThrow(
      /TokenFunction: its environment variables take about \d+ bytes/,
    );
  });
});

test('alarm thresholds from a config file reach the alarms; a bad one names its key', () => {
  const props = parseEnvironmentConfig({
    trustedIssuers: IDPS,
    alarms: { email: 'ops@example.com', thresholds: { replayCount: 12 } },
  });
  const { template } = server(props);
  template().hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: Match.absent(),
    Threshold: 12,
    AlarmDescription: Match.stringLikeRegexp('ReplaySpike|replay'),
  });
  expect(() =>
    server(
      parseEnvironmentConfig({
        trustedIssuers: IDPS,
        alarms: { thresholds: { replayCount: 0.5 } },
      }),
    ),
  ).toThrow(/^alarms\.thresholds\.replayCount: must be a whole number, got 0.5/);
  expect(() =>
    parseEnvironmentConfig({ trustedIssuers: IDPS, alarms: { thresholds: { replayCnt: 1 } } }),
  ).toThrow(/^alarms\.thresholds\.replayCnt: unknown key \(did you mean "replayCount"\?\)/);
});
