/**
 * Alarms and a dashboard for the authorization server: what an operator must hear about (token
 * failures, a dependency outage, Lambda errors and throttles, API 5xx and 429 rates, slow tokens,
 * a broken JWKS) and one page to look at. Each alarm has a runbook section in docs/operations.md
 * ("Alarms"), under the alarm's id. Route-level API metrics ("detailed metrics") are switched on
 * for the stage, since the token and JWKS alarms watch their own routes.
 *
 * Notifications go to an SNS topic: one made here (with an e-mail subscription), or yours by ARN;
 * with neither, the alarms still change state on the dashboard and in the console.
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
import { PATHS } from '../lambda/oauth/metadata.js';
import { REASONS } from '../lambda/oauth/errors.js';

/** When each alarm fires. Rates are percentages of the requests in a 5-minute period. */
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
  /** POST /token's p99 latency (ms), sustained for 15 minutes. */
  readonly tokenLatencyP99Ms: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  minRequests: 20,
  tokenServerErrorPercent: 1,
  tokenUnavailablePercent: 1,
  apiServerErrorPercent: 1,
  apiThrottledPercent: 5,
  tokenLatencyP99Ms: 1000,
};

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
  readonly thresholds?: Partial<AlarmThresholds>;
}

/** The alarms by id: each id is a heading of the runbook in docs/operations.md. */
export const ALARM_IDS = [
  'TokenServerErrorRate',
  'TokenUnavailableRate',
  'TokenLatencyP99',
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

const PERIOD = Duration.minutes(5);
const SERVICE_NAME = 'xaa-auth-server';
/** The 429 count from the access log: API Gateway has no metric of its own for throttled requests. */
const THROTTLED_METRIC = 'ApiThrottledRequests';

export class Observability extends Construct {
  readonly alarms: Readonly<Record<AlarmId, Alarm>>;
  readonly dashboard: Dashboard;
  /** Where the alarms notify, if anywhere. */
  readonly topic?: ITopic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const t = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };
    validateThresholds(t);
    enableRouteMetrics(props.stage);

    const apiId = props.httpApi.apiId;
    const stage = props.stage.stageName;
    const api = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: apiId, Stage: stage },
        statistic,
        period: PERIOD,
      });
    // Route-level metrics: API Gateway names a route by method and path ("Resource").
    const route = (method: string, path: string, metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: apiId, Stage: stage, Method: method, Resource: path },
        statistic,
        period: PERIOD,
      });
    const token = (metricName: string) => route('POST', PATHS.token, metricName);
    const service = props.serviceName ?? SERVICE_NAME;
    const tokenMetric = (metricName: string, dimensions: Record<string, string> = {}) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service, ...dimensions },
        statistic: 'Sum',
        period: PERIOD,
      });

    new MetricFilter(this, 'ThrottledFilter', {
      logGroup: props.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: props.metricsNamespace,
      metricName: THROTTLED_METRIC,
      metricValue: '1',
      defaultValue: 0,
    });
    const throttled = new Metric({
      namespace: props.metricsNamespace,
      metricName: THROTTLED_METRIC,
      statistic: 'Sum',
      period: PERIOD,
    });

    // Refusals carry the error and its reason code as dimensions; an alarm cannot search, so the
    // unavailable count is the sum over the reasons whose error is temporarily_unavailable.
    const unavailableReasons = Object.entries(REASONS)
      .filter(([, error]) => error === 'temporarily_unavailable')
      .map(([reason]) => reason);
    const unavailable = Object.fromEntries(
      unavailableReasons.map((reason, i) => [
        `u${i}`,
        tokenMetric('TokenRequestsRefused', { error: 'temporarily_unavailable', reason }),
      ]),
    );

    const rate = (label: string, errors: string, total: IMetric, parts: Record<string, IMetric>) =>
      new MathExpression({
        label,
        expression: `IF(total >= ${t.minRequests}, 100 * (${errors}) / total, 0)`,
        usingMetrics: { ...parts, total },
        period: PERIOD,
      });

    const alarm = (
      alarmId: AlarmId,
      metric: IMetric,
      threshold: number,
      description: string,
      periods = 1,
    ) =>
      new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No traffic is not an outage; an idle playground must stay quiet.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} Runbook: docs/operations.md, "Alarms", ${alarmId}.`,
      });

    const fns = [
      ['Discovery', props.functions.discovery],
      ['Jwks', props.functions.jwks],
      ['Token', props.functions.token],
    ] as const;
    const alarms: Partial<Record<AlarmId, Alarm>> = {
      TokenServerErrorRate: alarm(
        'TokenServerErrorRate',
        rate('POST /token 5xx %', 'FILL(errors, 0)', token('Count'), { errors: token('5xx') }),
        t.tokenServerErrorPercent,
        `POST /token answered 5xx to ${t.tokenServerErrorPercent}% or more of its requests.`,
      ),
      TokenUnavailableRate: alarm(
        'TokenUnavailableRate',
        rate(
          'temporarily_unavailable %',
          Object.keys(unavailable)
            .map((k) => `FILL(${k}, 0)`)
            .join(' + '),
          tokenMetric('TokenRequests'),
          unavailable,
        ),
        t.tokenUnavailablePercent,
        `${t.tokenUnavailablePercent}% or more of token requests were refused with temporarily_unavailable: ` +
          'a dependency (KMS, DynamoDB, Secrets Manager, an IdP JWKS) is failing.',
      ),
      TokenLatencyP99: alarm(
        'TokenLatencyP99',
        new MathExpression({
          label: 'POST /token p99 ms',
          expression: `IF(total >= ${t.minRequests}, p99, 0)`,
          usingMetrics: {
            p99: route('POST', PATHS.token, 'Latency', 'p99'),
            total: token('Count'),
          },
          period: PERIOD,
        }),
        t.tokenLatencyP99Ms,
        `POST /token p99 latency at or above ${t.tokenLatencyP99Ms} ms for 15 minutes.`,
        3,
      ),
      ApiServerErrorRate: alarm(
        'ApiServerErrorRate',
        rate('API 5xx %', 'FILL(errors, 0)', api('Count'), { errors: api('5xx') }),
        t.apiServerErrorPercent,
        `The API answered 5xx to ${t.apiServerErrorPercent}% or more of all requests.`,
      ),
      ApiThrottledRate: alarm(
        'ApiThrottledRate',
        rate('API 429 %', 'FILL(throttled, 0)', api('Count'), { throttled }),
        t.apiThrottledPercent,
        `The API throttled (429) ${t.apiThrottledPercent}% or more of all requests.`,
      ),
      // The JWKS is served from memory: any 5xx is a broken deployment, not load.
      JwksErrors: alarm(
        'JwksErrors',
        route('GET', PATHS.jwks, '5xx'),
        1,
        'GET /.well-known/jwks.json answered 5xx: resource servers cannot verify new tokens.',
      ),
    };
    for (const [name, fn] of fns) {
      alarms[`${name}FunctionErrors`] = alarm(
        `${name}FunctionErrors`,
        fn.metricErrors({ period: PERIOD }),
        1,
        `The ${name} function failed (an unhandled error, a timeout or a failed start).`,
      );
      alarms[`${name}FunctionThrottles`] = alarm(
        `${name}FunctionThrottles`,
        fn.metricThrottles({ period: PERIOD }),
        1,
        `Lambda throttled the ${name} function: the account's or the function's concurrency is exhausted.`,
      );
    }
    this.alarms = alarms as Record<AlarmId, Alarm>;

    this.topic = this.notificationTopic(props);
    if (this.topic) {
      const action = new SnsAction(this.topic);
      for (const a of Object.values(this.alarms)) {
        a.addAlarmAction(action);
        a.addOkAction(action);
      }
    }

    this.dashboard = this.buildDashboard({
      api,
      route,
      tokenMetric,
      throttled,
      fns,
      namespace: props.metricsNamespace,
      service,
      apiId,
    });
  }

  private notificationTopic(props: ObservabilityProps): ITopic | undefined {
    if (props.topicArn && props.email)
      throw new Error('Observability: give "email" or "topicArn", not both');
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

  private buildDashboard(m: {
    api: (name: string, statistic?: string) => Metric;
    route: (method: string, path: string, name: string, statistic?: string) => Metric;
    tokenMetric: (name: string, dimensions?: Record<string, string>) => Metric;
    throttled: Metric;
    fns: ReadonlyArray<readonly [string, IFunction]>;
    namespace: string;
    service: string;
    apiId: string;
  }): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    const wide = { width: 12, height: 6 };
    const search = (query: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('${query}', 'Sum', 300)`,
        label,
        usingMetrics: {},
        period: PERIOD,
      });
    dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Authorization server\nEach alarm has a runbook section in docs/operations.md ("Alarms").',
        width: 24,
        height: 2,
      }),
      new AlarmStatusWidget({ alarms: Object.values(this.alarms), width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Token requests',
        left: [m.tokenMetric('TokenRequests'), m.tokenMetric('TokensIssued')],
        ...wide,
      }),
      new GraphWidget({
        title: 'Token refusals by error and reason',
        left: [
          search(
            `{${m.namespace},error,reason,service} MetricName="TokenRequestsRefused" service="${m.service}"`,
            '',
          ),
        ],
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
          m.route('POST', PATHS.token, 'Latency', s).with({ label: `Latency ${s}` }),
        ),
        ...wide,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Requests by route',
        left: [
          search(
            `{AWS/ApiGateway,ApiId,Method,Resource,Stage} MetricName="Count" ApiId="${m.apiId}"`,
            '',
          ),
        ],
        ...wide,
      }),
      new GraphWidget({
        title: '5xx by route',
        left: [
          search(
            `{AWS/ApiGateway,ApiId,Method,Resource,Stage} MetricName="5xx" ApiId="${m.apiId}"`,
            '',
          ),
        ],
        ...wide,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors and throttles',
        left: m.fns.flatMap(([name, fn]) => [
          fn.metricErrors({ period: PERIOD, label: `${name} errors` }),
          fn.metricThrottles({ period: PERIOD, label: `${name} throttles` }),
        ]),
        ...wide,
      }),
      new GraphWidget({
        title: 'Lambda duration p99 (ms)',
        left: m.fns.map(([name, fn]) =>
          fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name }),
        ),
        ...wide,
      }),
    );
    return dashboard;
  }
}

function validateThresholds(t: AlarmThresholds): void {
  for (const [key, value] of Object.entries(t)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new Error(`Observability: threshold ${key} must be a positive number, got ${value}`);
  }
  for (const key of [
    'tokenServerErrorPercent',
    'tokenUnavailablePercent',
    'apiServerErrorPercent',
    'apiThrottledPercent',
  ] as const) {
    if (t[key] > 100) throw new Error(`Observability: threshold ${key} is a percentage (0-100]`);
  }
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
