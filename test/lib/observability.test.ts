/** Alarms, dashboard and route metrics: what each alarm watches, where it notifies, and its runbook. */
import { readFileSync } from 'node:fs';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpStage,
  LogGroupLogDestination,
  type CfnStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { ALARM_IDS, DEFAULT_ALARM_THRESHOLDS, Observability } from '../../lib/observability.js';
import { REASONS } from '../../lambda/oauth/errors.js';
import { partStack, resourcesOf, type NagReport } from './part-fixture.js';

type AlarmProps = {
  AlarmDescription: string;
  Threshold: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  ComparisonOperator: string;
  TreatMissingData: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
  Metrics?: Array<{
    Id: string;
    Expression?: string;
    ReturnData?: boolean;
    MetricStat?: {
      Metric: {
        Namespace: string;
        MetricName: string;
        Dimensions: Array<{ Name: string; Value: unknown }>;
      };
      Stat: string;
      Period: number;
    };
  }>;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Statistic?: string;
};

function build(options: { email?: string; topicArn?: string } = {}) {
  const part = partStack();
  const { stack } = part;
  const httpApi = new HttpApi(stack, 'HttpApi', { createDefaultStage: false });
  const accessLogs = new LogGroup(stack, 'AccessLogs');
  const stage = new HttpStage(stack, 'Stage', {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: 50, burstLimit: 100 },
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({ requestId: '$context.requestId', status: '$context.status' }),
      ),
    },
  });
  // As the stack sets it: the token route's own throttle.
  (stage.node.defaultChild as CfnStage).addPropertyOverride('RouteSettings', {
    'POST /token': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
  });
  const fn = (id: string) => part.routeFunction(id).function;
  const observability = new Observability(stack, 'Observability', {
    functions: { discovery: fn('Discovery'), jwks: fn('Jwks'), token: fn('Token') },
    httpApi,
    stage,
    accessLogs,
    metricsNamespace: 'XaaAuthServer-test',
    ...options,
  });
  return { part, observability };
}

const dims = (d: Array<{ Name: string; Value: unknown }>) =>
  Object.fromEntries(d.map(({ Name, Value }) => [Name, Value]));

let template: Template;
let nag: NagReport;
let alarms: Record<string, AlarmProps>;
beforeAll(() => {
  ({ template, nag } = build({ email: 'ops@example.com' }).part.synth());
  alarms = Object.fromEntries(
    resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id, r]) => [
      id.replace(/^Observability/, '').replace(/[0-9A-F]{8}$/, ''),
      r.Properties as AlarmProps,
    ]),
  );
}, 120_000);

const apiDims = { ApiId: { Ref: expect.stringMatching(/^HttpApi/) }, Stage: '$default' };
const metricsOf = (alarm: AlarmProps) =>
  Object.fromEntries(alarm.Metrics!.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!]));
const expressionOf = (alarm: AlarmProps) => alarm.Metrics!.find((m) => m.Expression)!.Expression;

test('the twelve alarms, each naming its runbook section, quiet without traffic', () => {
  expect(Object.keys(alarms).sort()).toEqual([...ALARM_IDS].sort());
  for (const [id, alarm] of Object.entries(alarms)) {
    expect(alarm.AlarmDescription).toContain(`Runbook: docs/operations.md, "Alarms", ${id}.`);
    expect(alarm.TreatMissingData).toBe('notBreaching');
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
  }
});

test('every alarm has a runbook section in docs/operations.md', () => {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const alarmsSection = doc.slice(doc.indexOf('\n## Alarms'));
  expect(alarmsSection.length).toBeGreaterThan(1000);
  for (const id of ALARM_IDS)
    expect([id, alarmsSection.includes(`\n### ${id}\n`)]).toEqual([id, true]);
});

test('token 5xx rate: POST /token route metrics, a percentage once there is enough traffic', () => {
  const alarm = alarms.TokenServerErrorRate!;
  expect(alarm.Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.tokenServerErrorPercent);
  expect(expressionOf(alarm)).toBe(
    `IF(total >= ${DEFAULT_ALARM_THRESHOLDS.minRequests}, 100 * (FILL(errors, 0)) / total, 0)`,
  );
  const m = metricsOf(alarm);
  for (const [id, name] of [
    ['errors', '5xx'],
    ['total', 'Count'],
  ] as const) {
    expect(m[id]!.Metric.Namespace).toBe('AWS/ApiGateway');
    expect(m[id]!.Metric.MetricName).toBe(name);
    expect(dims(m[id]!.Metric.Dimensions)).toEqual({
      ...apiDims,
      Method: 'POST',
      Resource: '/token',
    });
    expect([m[id]!.Stat, m[id]!.Period]).toEqual(['Sum', 300]);
  }
});

test('temporarily_unavailable rate: every reason of that error, over all token requests', () => {
  const alarm = alarms.TokenUnavailableRate!;
  const reasons = Object.entries(REASONS)
    .filter(([, e]) => e === 'temporarily_unavailable')
    .map(([r]) => r);
  expect(reasons.length).toBeGreaterThan(3);
  const m = metricsOf(alarm);
  const refused = Object.values(m).filter((s) => s.Metric.MetricName === 'TokenRequestsRefused');
  expect(refused.map((s) => dims(s.Metric.Dimensions))).toEqual(
    reasons.map((reason) => ({
      service: 'xaa-auth-server',
      error: 'temporarily_unavailable',
      reason,
    })),
  );
  expect(m.total!.Metric).toEqual({
    Namespace: 'XaaAuthServer-test',
    MetricName: 'TokenRequests',
    Dimensions: [{ Name: 'service', Value: 'xaa-auth-server' }],
  });
  for (const s of Object.values(m)) expect(s.Metric.Namespace).toBe('XaaAuthServer-test');
  expect(expressionOf(alarm)).toMatch(
    /^IF\(total >= 20, 100 \* \(FILL\(u0, 0\)( \+ FILL\(u\d, 0\))+\) \/ total, 0\)$/,
  );
  // An alarm may use at most 10 metrics.
  expect(alarm.Metrics!.length).toBeLessThanOrEqual(10);
});

test('API 5xx and 429 rates over the whole stage; the 429 count comes from the access log', () => {
  expect(dims(metricsOf(alarms.ApiServerErrorRate!).errors!.Metric.Dimensions)).toEqual(apiDims);
  const throttled = metricsOf(alarms.ApiThrottledRate!).throttled!;
  expect(throttled.Metric).toEqual({
    Namespace: 'XaaAuthServer-test',
    MetricName: 'ApiThrottledRequests',
  });
  template.hasResourceProperties('AWS::Logs::MetricFilter', {
    LogGroupName: { Ref: Match.stringLikeRegexp('^AccessLogs') },
    FilterPattern: '{ $.status = "429" }',
    MetricTransformations: [
      {
        MetricNamespace: 'XaaAuthServer-test',
        MetricName: 'ApiThrottledRequests',
        MetricValue: '1',
        DefaultValue: 0,
      },
    ],
  });
});

test('token p99 latency: sustained for three periods, and only with traffic', () => {
  const alarm = alarms.TokenLatencyP99!;
  expect([alarm.Threshold, alarm.EvaluationPeriods, alarm.DatapointsToAlarm]).toEqual([1000, 3, 3]);
  expect(metricsOf(alarm).p99).toMatchObject({ Stat: 'p99', Metric: { MetricName: 'Latency' } });
  expect(expressionOf(alarm)).toBe('IF(total >= 20, p99, 0)');
});

test('JWKS errors: any 5xx on its route; Lambda errors and throttles for each function', () => {
  const jwks = alarms.JwksErrors!;
  expect([jwks.MetricName, jwks.Threshold, jwks.Statistic]).toEqual(['5xx', 1, 'Sum']);
  expect(dims(jwks.Dimensions!)).toEqual({
    ...apiDims,
    Method: 'GET',
    Resource: '/.well-known/jwks.json',
  });
  for (const name of ['Discovery', 'Jwks', 'Token']) {
    for (const [kind, metric] of [
      ['Errors', 'Errors'],
      ['Throttles', 'Throttles'],
    ]) {
      const alarm = alarms[`${name}Function${kind}`]!;
      expect([alarm.Namespace, alarm.MetricName, alarm.Threshold]).toEqual([
        'AWS/Lambda',
        metric,
        1,
      ]);
      expect(dims(alarm.Dimensions!)).toEqual({
        FunctionName: { Ref: expect.stringMatching(new RegExp(`^${name}Function`)) },
      });
    }
  }
});

test('route-level metrics on the stage, also for the route with its own throttle', () => {
  const [, stage] = resourcesOf(template, 'AWS::ApiGatewayV2::Stage')[0]!;
  expect(stage.Properties!.DefaultRouteSettings).toMatchObject({ DetailedMetricsEnabled: true });
  expect(stage.Properties!.RouteSettings).toEqual({
    'POST /token': {
      ThrottlingRateLimit: 10,
      ThrottlingBurstLimit: 20,
      DetailedMetricsEnabled: true,
    },
  });
});

test('e-mail: a TLS-only topic with the subscription; every alarm notifies on alarm and on recovery', () => {
  const [topicId] = resourcesOf(template, 'AWS::SNS::Topic')[0]!;
  template.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: 'ops@example.com',
    TopicArn: { Ref: topicId },
  });
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    },
  });
  for (const alarm of Object.values(alarms)) {
    expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
  }
});

test('a dashboard with the alarms, token outcomes by error and reason, routes and functions', () => {
  const [, dashboard] = resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0]!;
  const body = JSON.stringify(dashboard.Properties!.DashboardBody);
  for (const text of [
    'TokenRequestsRefused',
    'TokensIssued',
    'ApiThrottledRequests',
    'POST /token latency',
    'Lambda errors and throttles',
    'MetricName=\\\\\\"5xx\\\\\\"',
  ])
    expect([text, body.includes(text)]).toEqual([text, true]);
  // The alarm status widget lists every alarm.
  expect(body.match(/"Fn::GetAtt":\["Observability\w+","Arn"\]/g)?.length).toBe(ALARM_IDS.length);
});

test('cdk-nag passes with nothing acknowledged (the topic refuses publishing without TLS)', () => {
  expect(nag.conclusion).toBe('success');
  expect(nag.violations).toEqual([]);
  expect(nag.acknowledged).toEqual([]);
});

test('an existing topic by ARN instead: no topic made; e-mail and ARN together are refused', () => {
  const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
  const { template: withArn } = build({ topicArn: arn }).part.synth();
  withArn.resourceCountIs('AWS::SNS::Topic', 0);
  for (const [, alarm] of resourcesOf(withArn, 'AWS::CloudWatch::Alarm'))
    expect((alarm.Properties as AlarmProps).AlarmActions).toEqual([arn]);
  expect(() => build({ topicArn: arn, email: 'ops@example.com' })).toThrow(/not both/);
}, 120_000);
