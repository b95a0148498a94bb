/**
 * Alarms and a dashboard for the authorization server: what an operator must hear about (token
 * failures, a dependency outage, Lambda errors and throttles, API 5xx and 429 rates, slow tokens,
 * a broken JWKS, the account's KMS RSA request quota running out, invalid_client and replay
 * spikes) and one page to look at. Each alarm has a runbook section in docs/operations.md
 * ("Alarms"), under the alarm's id. Route-level API metrics ("detailed metrics") are switched on
 * for the stage, since the token and JWKS alarms watch their own routes.
 *
 * Notifications go to an SNS topic: one made here (with an e-mail subscription), or yours (by ARN
 * or as a construct); with none, the alarms still change state on the dashboard and in the console.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnStage, HttpStage, IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { TOKEN_METRICS } from '../lambda/aws/token-metric-names.js';
import { PATHS } from '../lambda/oauth/metadata.js';
import { REASONS, type OAuthErrorCode, type ReasonCode } from '../lambda/oauth/errors.js';

/**
 * When each alarm fires. Rates are percentages of the requests (or invocations) in a 5-minute
 * period; counts are per 5-minute period. Sizing guidance for each is in docs/operations.md
 * ("Alarms", "Thresholds").
 */
export interface AlarmThresholds {
  /** Below this many requests in a period, no rate alarm fires (one failure in three is noise). */
  readonly minRequests: number;
  /** POST /token answered 5xx (503 temporarily_unavailable included). */
  readonly tokenServerErrorPercent: number;
  /** POST /token refused with temporarily_unavailable: KMS, DynamoDB, Secrets Manager or an IdP's JWKS. */
  readonly tokenUnavailablePercent: number;
  /** Any route answered 5xx. */
  readonly apiServerErrorPercent: number;
  /** Any route answered 429: the stage or the token route throttle turned callers away. */
  readonly apiThrottledPercent: number;
  /** POST /token's p99 latency (ms), sustained for 15 minutes. At most 30,000 (API Gateway's limit). */
  readonly tokenLatencyP99Ms: number;
  /**
   * A function's failed invocations (unhandled error, timeout, failed start) as a percentage of
   * its invocations, reached in two of three consecutive 5-minute periods: one failure alone never
   * fires, a function that keeps failing does within 10 to 15 minutes. The handlers answer every
   * refusal and dependency failure themselves, so what counts here is a broken function; on a busy
   * token function, where 5% is many requests, lower it (TokenServerErrorRate watches the clients'
   * side at 1%).
   */
  readonly functionErrorPercent: number;
  /**
   * KMS RSA requests of the whole account and region (every RSA key and caller, not only this
   * server's Sign calls) as a percentage of the "Cryptographic operations (RSA) request rate"
   * quota, in three of the last five minutes. Every token is one Sign, so this is the head room
   * before KMS throttles and tokens fail with 503. Lower it when a quota increase takes longer to
   * obtain than your traffic takes to grow the last 20%.
   */
  readonly kmsRsaQuotaPercent: number;
  /**
   * invalid_client refusals (every AUTH-FAILURE reason together) in 5 minutes: a client with a
   * stale secret retrying, or someone guessing secrets. Set it above what a normal 5 minutes
   * shows on the dashboard's refusal graph; a client that retries every few seconds alone sends
   * 50 or more.
   */
  readonly invalidClientCount: number;
  /**
   * Replayed ID-JAGs and DPoP proofs (reasons jti_replayed and dpop_jti_replayed) in 5 minutes.
   * A correct client never replays; a few come from clients that resend after a timeout, many mean
   * a client bug or a stolen assertion being tried.
   */
  readonly replayCount: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  minRequests: 20,
  tokenServerErrorPercent: 1,
  tokenUnavailablePercent: 1,
  apiServerErrorPercent: 1,
  apiThrottledPercent: 5,
  tokenLatencyP99Ms: 1000,
  functionErrorPercent: 5,
  kmsRsaQuotaPercent: 80,
  invalidClientCount: 20,
  replayCount: 5,
};

/** How each threshold is checked: a whole count, a percentage, or a latency API Gateway can reach. */
const THRESHOLD_KINDS: { readonly [K in keyof AlarmThresholds]: 'count' | 'percent' | 'ms' } = {
  minRequests: 'count',
  tokenServerErrorPercent: 'percent',
  tokenUnavailablePercent: 'percent',
  apiServerErrorPercent: 'percent',
  apiThrottledPercent: 'percent',
  tokenLatencyP99Ms: 'ms',
  functionErrorPercent: 'percent',
  kmsRsaQuotaPercent: 'percent',
  invalidClientCount: 'count',
  replayCount: 'count',
};

/** API Gateway answers 504 after 30 s, so no request is slower and a higher p99 never fires. */
const MAX_LATENCY_MS = 30_000;

export interface ObservabilityProps {
  readonly functions: {
    readonly discovery: IFunction;
    readonly jwks: IFunction;
    readonly token: IFunction;
  };
  readonly httpApi: IHttpApi;
  readonly stage: HttpStage;
  /** The API's access log group (JSON, with `status`): the source of the 429 count. */
  readonly accessLogs: ILogGroup;
  /** The token function's metrics namespace (its METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /** The token function's Powertools service name: the `service` dimension of its metrics. */
  readonly serviceName?: string;
  /** Subscribe this address to a topic made for the alarms (confirm the e-mail AWS sends). */
  readonly email?: string;
  /** Notify this existing SNS topic instead of making one. */
  readonly topicArn?: string;
  /** Or this topic of your app. */
  readonly topic?: ITopic;
  /** When each alarm fires; the rest keep DEFAULT_ALARM_THRESHOLDS. */
  readonly thresholds?: Partial<AlarmThresholds>;
}

/** The alarms by id: each id is a heading of the runbook in docs/operations.md. */
export const ALARM_IDS = [
  'TokenServerErrorRate',
  'TokenUnavailableRate',
  'TokenLatencyP99',
  'KmsRsaRequestQuota',
  'InvalidClientSpike',
  'ReplaySpike',
  'ApiServerErrorRate',
  'ApiThrottledRate',
  'JwksErrors',
  'DiscoveryFunctionErrors',
  'JwksFunctionErrors',
  'TokenFunctionErrors',
  'DiscoveryFunctionThrottles',
  'JwksFunctionThrottles',
  'TokenFunctionThrottles',
] as const;
export type AlarmId = (typeof ALARM_IDS)[number];

/** The refusals of a replayed assertion (JAG-REPLAY) or DPoP proof (DPOP-INVALID). */
export const REPLAY_REASONS = [
  'jti_replayed',
  'dpop_jti_replayed',
] as const satisfies readonly ReasonCode[];

const PERIOD = Duration.minutes(5);
/** The 429 count from the access log: API Gateway has no metric of its own for throttled requests. */
const THROTTLED_METRIC = 'ApiThrottledRequests';
/** CloudWatch refuses an alarm that reads more than 10 metrics (a hard limit). */
const MAX_ALARM_METRICS = 10;

/** Where alarms notify: at most one of an e-mail address, a topic ARN and a topic. */
export function checkNotificationTarget(target: {
  readonly email?: string;
  readonly topicArn?: string;
  readonly topic?: ITopic;
}): void {
  const given = [target.email, target.topicArn, target.topic].filter((t) => t !== undefined);
  if (given.length > 1)
    throw new XaaConfigError('alarms', 'give one of "email", "topicArn" and "topic"');
}

/** The thresholds with the defaults filled in, or an error naming the first bad one. */
export function resolveAlarmThresholds(given: Partial<AlarmThresholds> = {}): AlarmThresholds {
  const names = Object.keys(THRESHOLD_KINDS);
  const t: Record<string, unknown> = { ...DEFAULT_ALARM_THRESHOLDS };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!(key in THRESHOLD_KINDS))
      throw new XaaConfigError(
        `thresholds.${key}`,
        `is not a threshold (one of ${names.join(', ')})`,
      );
    if (value !== undefined) t[key] = value;
  }
  for (const [key, kind] of Object.entries(THRESHOLD_KINDS)) {
    const value = t[key];
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    const bad = (rule: string) =>
      new XaaConfigError(`thresholds.${key}`, `must be ${rule}, got ${shown}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw bad('a positive number');
    if (kind === 'count' && !Number.isInteger(value)) throw bad('a whole number');
    if (kind === 'percent' && value > 100) throw bad('a percentage, at most 100');
    if (kind === 'ms' && value > MAX_LATENCY_MS)
      throw bad(`at most ${MAX_LATENCY_MS} ms (API Gateway gives up at 30 s)`);
  }
  return t as unknown as AlarmThresholds;
}

export class Observability extends Construct {
  readonly alarms: Readonly<Record<AlarmId, Alarm>>;
  readonly dashboard: Dashboard;
  /** Where the alarms notify, if anywhere. */
  readonly topic?: ITopic;
  /** The thresholds in force, defaults filled in. */
  readonly thresholds: AlarmThresholds;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.thresholds = resolveAlarmThresholds(props.thresholds);
    checkNotificationTarget(props);
    enableRouteMetrics(props.stage);

    const metrics = new ServerMetrics(this, props);
    const specs = alarmSpecs(metrics, this.thresholds);
    this.alarms = Object.fromEntries(
      ALARM_IDS.map((alarmId) => [alarmId, newAlarm(this, alarmId, specs[alarmId])]),
    ) as Record<AlarmId, Alarm>;

    this.topic = this.notificationTopic(props);
    if (this.topic) {
      const action = new SnsAction(this.topic);
      for (const a of Object.values(this.alarms)) {
        a.addAlarmAction(action);
        a.addOkAction(action);
      }
    }
    this.dashboard = buildDashboard(this, metrics, this.alarms, specs, this.thresholds);
  }

  private notificationTopic(props: ObservabilityProps): ITopic | undefined {
    if (props.topic) return props.topic;
    if (props.topicArn) return Topic.fromTopicArn(this, 'Topic', props.topicArn);
    if (!props.email) return undefined;
    // Not encrypted: alarm messages carry alarm names, states and metric values, nothing secret,
    // and CloudWatch cannot publish under the AWS-managed SNS key. Publishing requires TLS.
    const topic = new Topic(this, 'Topic', {
      displayName: `Alarms of ${Stack.of(this).stackName}`,
      enforceSSL: true,
    });
    topic.addSubscription(new EmailSubscription(props.email));
    return topic;
  }
}

type FunctionName = 'Discovery' | 'Jwks' | 'Token';

/** Every metric the alarms and the dashboard read, so that each is defined once. */
class ServerMetrics {
  readonly functions: ReadonlyArray<readonly [FunctionName, IFunction]>;
  readonly namespace: string;
  readonly service: string;
  readonly apiId: string;
  private readonly stageName: string;

  constructor(scope: Construct, props: ObservabilityProps) {
    this.functions = [
      ['Discovery', props.functions.discovery],
      ['Jwks', props.functions.jwks],
      ['Token', props.functions.token],
    ];
    this.namespace = props.metricsNamespace;
    this.service = props.serviceName ?? TOKEN_METRICS.serviceName;
    this.apiId = props.httpApi.apiId;
    this.stageName = props.stage.stageName;
    new MetricFilter(scope, 'ThrottledFilter', {
      logGroup: props.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: this.namespace,
      metricName: THROTTLED_METRIC,
      metricValue: '1',
      defaultValue: 0,
    });
  }

  api(metricName: string, statistic = 'Sum'): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.apiId, Stage: this.stageName },
      statistic,
      period: PERIOD,
    });
  }

  /** Route-level: API Gateway names a route by method and path ("Resource"). */
  route(method: string, path: string, metricName: string, statistic = 'Sum'): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.apiId, Stage: this.stageName, Method: method, Resource: path },
      statistic,
      period: PERIOD,
    });
  }

  tokenRoute(metricName: string, statistic = 'Sum'): Metric {
    return this.route('POST', PATHS.token, metricName, statistic);
  }

  /** The token function's own (EMF) metrics. */
  token(metricName: string, dimensions: Record<string, string> = {}): Metric {
    return new Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { service: this.service, ...dimensions },
      statistic: 'Sum',
      period: PERIOD,
    });
  }

  /**
   * One TokenRequestsRefused series per reason, under ids `${prefix}0`, `${prefix}1`, ...: a
   * refusal carries its error and reason as dimensions and an alarm cannot search, so a count of
   * several reasons is a sum over their series.
   */
  refusals(prefix: string, reasons: readonly ReasonCode[]): Record<string, Metric> {
    return Object.fromEntries(
      reasons.map((reason, i) => [
        `${prefix}${i}`,
        this.token(TOKEN_METRICS.refused, {
          [TOKEN_METRICS.errorDimension]: REASONS[reason],
          [TOKEN_METRICS.reasonDimension]: reason,
        }),
      ]),
    );
  }

  get throttled(): Metric {
    return new Metric({
      namespace: this.namespace,
      metricName: THROTTLED_METRIC,
      statistic: 'Sum',
      period: PERIOD,
    });
  }

  /**
   * Account-wide, not this server's calls alone: the quota is shared by every RSA key and caller
   * in the account and region. AWS/Usage holds one data point a minute, a per-second rate over
   * that minute (the unit the quota is stated in), and the Service Quotas console's own alarm for
   * this quota divides the 1-minute Sum by SERVICE_QUOTA() unscaled. So: Sum over 1 minute, that
   * minute's rate. A 5-minute Sum would add five rates and fire at a fifth of the load; a 5-minute
   * Average would hide the one busy minute that KMS throttles.
   */
  get kmsRsaRequests(): Metric {
    return new Metric({
      namespace: 'AWS/Usage',
      metricName: 'CallCount',
      dimensionsMap: {
        Service: 'KMS',
        Type: 'API',
        Resource: 'CryptographicOperationsRsa',
        Class: 'None',
      },
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
  }
}

function reasonsOf(error: OAuthErrorCode): ReasonCode[] {
  return (Object.keys(REASONS) as ReasonCode[]).filter((reason) => REASONS[reason] === error);
}

interface AlarmSpec {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly description: string;
  /** Breaching periods that fire the alarm, out of `evaluationPeriods`. */
  readonly datapointsToAlarm?: number;
  readonly evaluationPeriods?: number;
}

function newAlarm(scope: Construct, alarmId: AlarmId, spec: AlarmSpec): Alarm {
  const datapoints = spec.datapointsToAlarm ?? 1;
  return new Alarm(scope, alarmId, {
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods ?? datapoints,
    datapointsToAlarm: datapoints,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // No traffic is not an outage; an idle playground must stay quiet.
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: `${spec.description} Runbook: docs/operations.md, "Alarms", ${alarmId}.`,
  });
}

function alarmSpecs(m: ServerMetrics, t: AlarmThresholds): Record<AlarmId, AlarmSpec> {
  return {
    ...tokenAlarms(m, t),
    ...abuseAlarms(m, t),
    ...apiAlarms(m, t),
    ...functionAlarms(m, t),
  };
}

type Specs<K extends AlarmId> = Record<K, AlarmSpec>;

function tokenAlarms(
  m: ServerMetrics,
  t: AlarmThresholds,
): Specs<
  'TokenServerErrorRate' | 'TokenUnavailableRate' | 'TokenLatencyP99' | 'KmsRsaRequestQuota'
> {
  const unavailable = m.refusals('u', reasonsOf('temporarily_unavailable'));
  const kms = new MathExpression({
    label: 'KMS RSA requests, % of quota',
    expression: '100 * calls / SERVICE_QUOTA(calls)',
    usingMetrics: { calls: m.kmsRsaRequests },
    period: Duration.minutes(1),
  });
  return {
    TokenServerErrorRate: {
      metric: rate('POST /token 5xx %', t, { errors: m.tokenRoute('5xx') }, m.tokenRoute('Count')),
      threshold: t.tokenServerErrorPercent,
      description: `POST /token answered 5xx to ${t.tokenServerErrorPercent}% or more of its requests.`,
    },
    TokenUnavailableRate: {
      metric: rate('temporarily_unavailable %', t, unavailable, m.token(TOKEN_METRICS.requests)),
      threshold: t.tokenUnavailablePercent,
      description:
        `${t.tokenUnavailablePercent}% or more of token requests were refused with temporarily_unavailable: ` +
        'a dependency (KMS, DynamoDB, Secrets Manager, an IdP JWKS) is failing.',
    },
    TokenLatencyP99: {
      metric: new MathExpression({
        label: 'POST /token p99 ms',
        expression: `IF(total >= ${t.minRequests}, p99, 0)`,
        usingMetrics: { p99: m.tokenRoute('Latency', 'p99'), total: m.tokenRoute('Count') },
        period: PERIOD,
      }),
      threshold: t.tokenLatencyP99Ms,
      description: `POST /token p99 latency at or above ${t.tokenLatencyP99Ms} ms for 15 minutes.`,
      datapointsToAlarm: 3,
    },
    // Minutes, not 5-minute periods: the quota is per second, and a few busy minutes in five are
    // the warning; one busy minute (a load test, a retry storm) is not yet a trend.
    KmsRsaRequestQuota: {
      metric: kms,
      threshold: t.kmsRsaQuotaPercent,
      description:
        `KMS RSA requests of the account and region reached ${t.kmsRsaQuotaPercent}% of the quota ` +
        'in 3 of the last 5 minutes: past the quota, Sign is throttled and tokens fail with 503.',
      datapointsToAlarm: 3,
      evaluationPeriods: 5,
    },
  };
}

function abuseAlarms(
  m: ServerMetrics,
  t: AlarmThresholds,
): Specs<'InvalidClientSpike' | 'ReplaySpike'> {
  return {
    InvalidClientSpike: {
      metric: sum('invalid_client', m.refusals('c', reasonsOf('invalid_client'))),
      threshold: t.invalidClientCount,
      description: `${t.invalidClientCount} or more token requests in 5 minutes failed client authentication (invalid_client).`,
    },
    ReplaySpike: {
      metric: sum('replayed assertions and proofs', m.refusals('r', REPLAY_REASONS)),
      threshold: t.replayCount,
      description: `${t.replayCount} or more replayed ID-JAGs or DPoP proofs were refused in 5 minutes.`,
    },
  };
}

function apiAlarms(
  m: ServerMetrics,
  t: AlarmThresholds,
): Specs<'ApiServerErrorRate' | 'ApiThrottledRate' | 'JwksErrors'> {
  return {
    ApiServerErrorRate: {
      metric: rate('API 5xx %', t, { errors: m.api('5xx') }, m.api('Count')),
      threshold: t.apiServerErrorPercent,
      description: `The API answered 5xx to ${t.apiServerErrorPercent}% or more of all requests.`,
    },
    ApiThrottledRate: {
      metric: rate('API 429 %', t, { throttled: m.throttled }, m.api('Count')),
      threshold: t.apiThrottledPercent,
      description: `The API throttled (429) ${t.apiThrottledPercent}% or more of all requests.`,
    },
    // The JWKS is served from memory: any 5xx is a broken deployment, not load.
    JwksErrors: {
      metric: m.route('GET', PATHS.jwks, '5xx'),
      threshold: 1,
      description:
        'GET /.well-known/jwks.json answered 5xx: resource servers cannot verify new tokens.',
    },
  };
}

function functionAlarms(
  m: ServerMetrics,
  t: AlarmThresholds,
): Specs<`${FunctionName}Function${'Errors' | 'Throttles'}`> {
  const specs: Partial<Specs<`${FunctionName}Function${'Errors' | 'Throttles'}`>> = {};
  for (const [name, fn] of m.functions) {
    specs[`${name}FunctionErrors`] = {
      metric: new MathExpression({
        label: `${name} errors %`,
        expression: 'IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)',
        usingMetrics: {
          errors: fn.metricErrors({ period: PERIOD }),
          invocations: fn.metricInvocations({ period: PERIOD }),
        },
        period: PERIOD,
      }),
      threshold: t.functionErrorPercent,
      description:
        `${t.functionErrorPercent}% or more of the ${name} function's invocations failed (an unhandled ` +
        'error, a timeout or a failed start) in 2 of 3 consecutive 5-minute periods.',
      datapointsToAlarm: 2,
      evaluationPeriods: 3,
    };
    specs[`${name}FunctionThrottles`] = {
      metric: fn.metricThrottles({ period: PERIOD }),
      threshold: 1,
      description: `Lambda throttled the ${name} function: the account's or the function's concurrency is exhausted.`,
    };
  }
  return specs as Specs<`${FunctionName}Function${'Errors' | 'Throttles'}`>;
}

/** A percentage of `total`, zero below `minRequests`: a few requests make no rate. */
function rate(
  label: string,
  t: AlarmThresholds,
  parts: Record<string, IMetric>,
  total: IMetric,
): MathExpression {
  const errors = Object.keys(parts)
    .map((k) => `FILL(${k}, 0)`)
    .join(' + ');
  return expression(label, `IF(total >= ${t.minRequests}, 100 * (${errors}) / total, 0)`, {
    ...parts,
    total,
  });
}

/** The sum of series of which any may have no data in a period. */
function sum(label: string, parts: Record<string, IMetric>): MathExpression {
  const terms = Object.keys(parts).map((k) => `FILL(${k}, 0)`);
  return expression(label, terms.join(' + '), parts);
}

function expression(
  label: string,
  text: string,
  usingMetrics: Record<string, IMetric>,
): MathExpression {
  // Caught here, at synth, rather than by CloudFormation halfway through a deploy: a reason code
  // added to REASONS can push a sum past the limit.
  if (Object.keys(usingMetrics).length > MAX_ALARM_METRICS)
    throw new XaaConfigError(
      'alarms',
      `"${label}" reads ${Object.keys(usingMetrics).length} metrics; ` +
        `an alarm may read at most ${MAX_ALARM_METRICS}`,
    );
  return new MathExpression({ label, expression: text, usingMetrics, period: PERIOD });
}

function buildDashboard(
  scope: Construct,
  m: ServerMetrics,
  alarms: Readonly<Record<AlarmId, Alarm>>,
  specs: Record<AlarmId, AlarmSpec>,
  t: AlarmThresholds,
): Dashboard {
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  const wide = { width: 12, height: 6 };
  const search = (query: string) =>
    new MathExpression({
      expression: `SEARCH('${query}', 'Sum', 300)`,
      label: '',
      usingMetrics: {},
      period: PERIOD,
    });
  const { errorDimension: e, reasonDimension: r, refused } = TOKEN_METRICS;
  const refusals = `{${m.namespace},${e},${r},service} MetricName="${refused}"`;
  const routes = '{AWS/ApiGateway,ApiId,Method,Resource,Stage}';
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        '# Authorization server\nEach alarm has a runbook section in docs/operations.md ("Alarms").',
      width: 24,
      height: 2,
    }),
    new AlarmStatusWidget({ alarms: Object.values(alarms), width: 24, height: 4 }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Token requests',
      left: [m.token(TOKEN_METRICS.requests), m.token(TOKEN_METRICS.issued)],
      ...wide,
    }),
    new GraphWidget({
      title: 'Token refusals by error and reason',
      left: [search(`${refusals} service="${m.service}"`)],
      ...wide,
    }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'invalid_client and replays (5 min)',
      left: [specs.InvalidClientSpike.metric, specs.ReplaySpike.metric],
      leftAnnotations: [
        { value: t.invalidClientCount, label: 'InvalidClientSpike' },
        { value: t.replayCount, label: 'ReplaySpike' },
      ],
      ...wide,
    }),
    new GraphWidget({
      title: 'KMS RSA requests, % of the account quota (all callers)',
      left: [specs.KmsRsaRequestQuota.metric],
      leftAnnotations: [{ value: t.kmsRsaQuotaPercent, label: 'KmsRsaRequestQuota' }],
      leftYAxis: { min: 0, max: 100 },
      ...wide,
    }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'API requests, 4xx, 5xx, 429',
      left: [m.api('Count'), m.api('4xx'), m.api('5xx'), m.throttled],
      ...wide,
    }),
    new GraphWidget({
      title: 'POST /token latency (ms)',
      left: ['p50', 'p90', 'p99'].map((s) =>
        m.tokenRoute('Latency', s).with({ label: `Latency ${s}` }),
      ),
      ...wide,
    }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Requests by route',
      left: [search(`${routes} MetricName="Count" ApiId="${m.apiId}"`)],
      ...wide,
    }),
    new GraphWidget({
      title: '5xx by route',
      left: [search(`${routes} MetricName="5xx" ApiId="${m.apiId}"`)],
      ...wide,
    }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Lambda errors and throttles',
      left: m.functions.flatMap(([name, fn]) => [
        fn.metricErrors({ period: PERIOD, label: `${name} errors` }),
        fn.metricThrottles({ period: PERIOD, label: `${name} throttles` }),
      ]),
      ...wide,
    }),
    new GraphWidget({
      title: 'Lambda duration p99 (ms)',
      left: m.functions.map(([name, fn]) =>
        fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name }),
      ),
      ...wide,
    }),
  );
  return dashboard;
}

/**
 * Route-level metrics for every route ("detailed metrics"): the stage's default route settings,
 * and each route that has settings of its own (POST /token's throttle), since a route's settings
 * replace the defaults rather than add to them.
 */
function enableRouteMetrics(stage: HttpStage): void {
  const cfn = stage.node.defaultChild as CfnStage;
  cfn.addPropertyOverride('DefaultRouteSettings.DetailedMetricsEnabled', true);
  // The route key has no dot, so the override path is unambiguous.
  cfn.addPropertyOverride(`RouteSettings.POST ${PATHS.token}.DetailedMetricsEnabled`, true);
}
