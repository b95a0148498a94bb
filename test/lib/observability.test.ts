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
import { Topic } from 'aws-cdk-lib/aws-sns';
import {
  ALARM_IDS,
  DEFAULT_ALARM_THRESHOLDS,
  Observability,
  REPLAY_REASONS,
  resolveAlarmThresholds,
  type AlarmThresholds,
  type ObservabilityProps,
} from '../../lib/observability.js';
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
  Period?: number;
};

type Options = Pick<ObservabilityProps, 'email' | 'topicArn' | 'thresholds'> & {
  /** A topic made in the test's stack, passed as a construct. */
  topic?: boolean;
};

function build({ topic, ...options }: Options = {}) {
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
    ...(topic && { topic: new Topic(stack, 'OpsTopic', { enforceSSL: true }) }),
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
  alarms = alarmsOf(template);
}, 120_000);

const apiDims = { ApiId: { Ref: expect.stringMatching(/^HttpApi/) }, Stage: '$default' };
const metricsOf = (alarm: AlarmProps) =>
  Object.fromEntries(alarm.Metrics!.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!]));
const expressionOf = (alarm: AlarmProps) => alarm.Metrics!.find((m) => m.Expression)!.Expression;

const alarmsOf = (t: Template): Record<string, AlarmProps> =>
  Object.fromEntries(
    resourcesOf(t, 'AWS::CloudWatch::Alarm').map(([id, r]) => [
      id.replace(/^Observability/, '').replace(/[0-9A-F]{8}$/, ''),
      r.Properties as AlarmProps,
    ]),
  );
test('every alarm of ALARM_IDS, each naming its runbook section, quiet without traffic', () => {
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

test('JWKS errors: any 5xx on its route; Lambda throttles for each function, any one', () => {
  const jwks = alarms.JwksErrors!;
  expect([jwks.MetricName, jwks.Threshold, jwks.Statistic]).toEqual(['5xx', 1, 'Sum']);
  expect(dims(jwks.Dimensions!)).toEqual({
    ...apiDims,
    Method: 'GET',
    Resource: '/.well-known/jwks.json',
  });
  for (const name of ['Discovery', 'Jwks', 'Token']) {
    const alarm = alarms[`${name}FunctionThrottles`]!;
    expect([alarm.Namespace, alarm.MetricName, alarm.Threshold]).toEqual([
      'AWS/Lambda',
      'Throttles',
      1,
    ]);
    expect(dims(alarm.Dimensions!)).toEqual({
      FunctionName: { Ref: expect.stringMatching(new RegExp(`^${name}Function`)) },
    });
  }
});

test('function errors: a percentage of invocations in 2 of 3 periods, so a single error never alarms', () => {
  for (const name of ['Discovery', 'Jwks', 'Token']) {
    const alarm = alarms[`${name}FunctionErrors`]!;
    expect(alarm.Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.functionErrorPercent);
    expect(expressionOf(alarm)).toBe('IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)');
    const m = metricsOf(alarm);
    for (const [id, metric] of [
      ['errors', 'Errors'],
      ['invocations', 'Invocations'],
    ] as const) {
      expect([m[id]!.Metric.Namespace, m[id]!.Metric.MetricName]).toEqual(['AWS/Lambda', metric]);
      expect(dims(m[id]!.Metric.Dimensions)).toEqual({
        FunctionName: { Ref: expect.stringMatching(new RegExp(`^${name}Function`)) },
      });
      expect([m[id]!.Stat, m[id]!.Period]).toEqual(['Sum', 300]);
    }
    // One error is counted in one 5-minute period: one breaching datapoint, and the alarm needs
    // two, whatever share of the invocations that error was.
    expect([alarm.DatapointsToAlarm, alarm.EvaluationPeriods]).toEqual([2, 3]);
  }
});

test('KMS RSA quota: account usage over SERVICE_QUOTA, per minute, in 3 of the last 5 minutes', () => {
  const alarm = alarms.KmsRsaRequestQuota!;
  expect(alarm.Threshold).toBe(80);
  expect(expressionOf(alarm)).toBe('100 * calls / SERVICE_QUOTA(calls)');
  const { calls } = metricsOf(alarm);
  expect(calls!.Metric.Namespace).toBe('AWS/Usage');
  expect(calls!.Metric.MetricName).toBe('CallCount');
  expect(dims(calls!.Metric.Dimensions)).toEqual({
    Service: 'KMS',
    Type: 'API',
    Resource: 'CryptographicOperationsRsa',
    Class: 'None',
  });
  // One data point a minute, a per-second rate: a 1-minute Sum is that rate, as the quota is.
  expect([calls!.Stat, calls!.Period]).toEqual(['Sum', 60]);
  expect([alarm.DatapointsToAlarm, alarm.EvaluationPeriods]).toEqual([3, 5]);
});

test('invalid_client spike: every invalid_client, whatever its reason, one series, in 5 minutes', () => {
  // A sum per reason would read more series than an alarm may (10): the token function also
  // counts each refusal by its error alone, and the alarm reads that one series.
  const invalidClientReasons = Object.values(REASONS).filter((e) => e === 'invalid_client');
  expect(invalidClientReasons.length).toBeGreaterThan(10);
  const alarm = alarms.InvalidClientSpike!;
  expect(alarm.Metrics).toBeUndefined();
  expect([alarm.Namespace, alarm.MetricName, alarm.Statistic, alarm.Period]).toEqual([
    'XaaAuthServer-test',
    'TokenRequestsRefused',
    'Sum',
    300,
  ]);
  expect(dims(alarm.Dimensions!)).toEqual({ service: 'xaa-auth-server', error: 'invalid_client' });
  expect([alarm.Threshold, alarm.DatapointsToAlarm]).toEqual([20, 1]);
});

test('replay spike: replayed ID-JAGs and DPoP proofs, each under its own error, summed', () => {
  // Every reason code for a replay, whatever its error: a new one must join the alarm.
  const replays = Object.keys(REASONS).filter((r) => r.endsWith('_replayed'));
  expect([...REPLAY_REASONS].sort()).toEqual(replays.sort());
  const alarm = alarms.ReplaySpike!;
  const m = metricsOf(alarm);
  expect(Object.values(m).map((s) => dims(s.Metric.Dimensions))).toEqual([
    { service: 'xaa-auth-server', error: 'invalid_grant', reason: 'jti_replayed' },
    { service: 'xaa-auth-server', error: 'invalid_dpop_proof', reason: 'dpop_jti_replayed' },
    { service: 'xaa-auth-server', error: 'invalid_client', reason: 'client_assertion_replayed' },
  ]);
  for (const s of Object.values(m)) expect([s.Stat, s.Period]).toEqual(['Sum', 300]);
  expect(expressionOf(alarm)).toBe('FILL(r0, 0) + FILL(r1, 0) + FILL(r2, 0)');
  expect([alarm.Threshold, alarm.DatapointsToAlarm]).toEqual([5, 1]);
});

test('thresholds from props reach the alarms; the others keep their defaults', () => {
  const thresholds: Partial<AlarmThresholds> = {
    minRequests: 50,
    functionErrorPercent: 10,
    kmsRsaQuotaPercent: 70,
    invalidClientCount: 100,
    replayCount: 2,
    tokenLatencyP99Ms: 2500,
  };
  const { template: t } = build({ thresholds }).part.synth();
  const a = alarmsOf(t);
  expect(a.TokenFunctionErrors!.Threshold).toBe(10);
  expect(a.KmsRsaRequestQuota!.Threshold).toBe(70);
  expect(a.InvalidClientSpike!.Threshold).toBe(100);
  expect(a.ReplaySpike!.Threshold).toBe(2);
  expect(a.TokenLatencyP99!.Threshold).toBe(2500);
  expect(expressionOf(a.TokenLatencyP99!)).toBe('IF(total >= 50, p99, 0)');
  expect(expressionOf(a.ApiServerErrorRate!)).toMatch(/^IF\(total >= 50, /);
  expect(a.ApiThrottledRate!.Threshold).toBe(DEFAULT_ALARM_THRESHOLDS.apiThrottledPercent);
  expect(a.KmsRsaRequestQuota!.AlarmDescription).toContain('70%');
}, 120_000);

test('a threshold that cannot work stops the synth, naming it', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ kmsRsaQuotaPercent: 120 }, /thresholds\.kmsRsaQuotaPercent: must be a percentage/],
    [{ functionErrorPercent: 0 }, /thresholds\.functionErrorPercent: must be a positive number/],
    [{ invalidClientCount: 2.5 }, /thresholds\.invalidClientCount: must be a whole number/],
    [{ replayCount: -1 }, /thresholds\.replayCount: must be a positive number, got -1/],
    [{ minRequests: Number.NaN }, /thresholds\.minRequests: must be a positive number, got NaN/],
    [{ tokenLatencyP99Ms: 60_000 }, /thresholds\.tokenLatencyP99Ms: must be at most 30000 ms/],
    [{ replayCount: '5' }, /thresholds\.replayCount: must be a positive number, got "5"/],
    [{ replays: 5 }, /thresholds\.replays: is not a threshold \(one of minRequests, /],
  ];
  for (const [given, message] of cases)
    expect(() => resolveAlarmThresholds(given as Partial<AlarmThresholds>)).toThrow(message);
  // An undefined threshold is a default, as an absent one is.
  expect(resolveAlarmThresholds({ replayCount: undefined })).toEqual(DEFAULT_ALARM_THRESHOLDS);
  // The construct checks before it makes anything.
  expect(() => build({ thresholds: { invalidClientCount: 0 } })).toThrow(
    /^thresholds\.invalidClientCount: must be a positive number, got 0$/,
  );
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

test('a dashboard with the alarms, token outcomes, abuse, the KMS quota, routes and functions', () => {
  const [, dashboard] = resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0]!;
  const body = JSON.stringify(dashboard.Properties!.DashboardBody);
  for (const text of [
    'TokenRequestsRefused',
    'TokensIssued',
    'ApiThrottledRequests',
    'POST /token latency',
    'Lambda errors and throttles',
    'invalid_client and replays',
    'SERVICE_QUOTA(calls)',
    'CryptographicOperationsRsa',
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

test('an existing topic by ARN instead: no topic made; two targets together are refused', () => {
  const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
  const { template: withArn } = build({ topicArn: arn }).part.synth();
  withArn.resourceCountIs('AWS::SNS::Topic', 0);
  for (const [, alarm] of resourcesOf(withArn, 'AWS::CloudWatch::Alarm'))
    expect((alarm.Properties as AlarmProps).AlarmActions).toEqual([arn]);
  for (const targets of [
    { topicArn: arn, email: 'ops@example.com' },
    { topic: true, email: 'ops@example.com' },
    { topic: true, topicArn: arn },
  ])
    expect(() => build(targets)).toThrow(/^alarms: give one of "email", "topicArn" and "topic"$/);
}, 120_000);

test('a topic of the app: every alarm notifies it, and no topic is made here', () => {
  const { template: withTopic } = build({ topic: true }).part.synth();
  const topics = resourcesOf(withTopic, 'AWS::SNS::Topic');
  expect(topics.map(([id]) => id)).toEqual([expect.stringMatching(/^OpsTopic/)]);
  for (const [, alarm] of resourcesOf(withTopic, 'AWS::CloudWatch::Alarm')) {
    expect((alarm.Properties as AlarmProps).AlarmActions).toEqual([{ Ref: topics[0]![0] }]);
    expect((alarm.Properties as AlarmProps).OKActions).toEqual([{ Ref: topics[0]![0] }]);
  }
}, 120_000);
