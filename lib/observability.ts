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
 *
 * The parts, each in lib/observability/: the thresholds, the metric factory, the alarm specs, the
 * dashboard's rows.
 */
import { Stack } from 'aws-cdk-lib';
import type { CfnStage, HttpStage, IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { XaaConfigError } from './config-error.js';
import { TOKEN_METRICS } from '../lambda/cdk-shared/token-metric-names.js';
import { PATHS } from '../lambda/oauth/metadata.js';
import { ALARM_IDS, alarmSpecs, newAlarm, type AlarmId } from './observability/alarms.js';
import { buildDashboard } from './observability/dashboard.js';
import { ServerMetrics } from './observability/metrics.js';
import { resolveAlarmThresholds, type AlarmThresholds } from './observability/thresholds.js';

export { ALARM_IDS, REPLAY_REASONS, type AlarmId } from './observability/alarms.js';
export {
  DEFAULT_ALARM_THRESHOLDS,
  resolveAlarmThresholds,
  type AlarmThresholds,
} from './observability/thresholds.js';

/** Where the alarms notify: at most one of an e-mail address, a topic ARN and a topic. */
export interface NotificationTarget {
  /** Subscribe this address to a topic made for the alarms (confirm the e-mail AWS sends). */
  readonly email?: string;
  /** Notify this existing SNS topic instead of making one. */
  readonly topicArn?: string;
  /** Or this topic of your app. */
  readonly topic?: ITopic;
}

/** What the alarms watch, where they notify, and when they fire. */
export interface ObservabilityProps extends NotificationTarget {
  /** The route functions, each watched for errors and throttles. */
  readonly functions: {
    readonly discovery: IFunction;
    readonly jwks: IFunction;
    readonly token: IFunction;
  };
  /** The API whose stage and routes are watched. */
  readonly httpApi: IHttpApi;
  /** The stage the API metrics are read from; its route-level metrics are switched on. */
  readonly stage: HttpStage;
  /** The API's access log group (JSON, with `status`): the source of the 429 count. */
  readonly accessLogs: ILogGroup;
  /** The token function's metrics namespace (its METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /**
   * The token function's Powertools service name: the `service` dimension of its metrics.
   * @default the token function's own
   */
  readonly serviceName?: string;
  /** When each alarm fires; the rest keep DEFAULT_ALARM_THRESHOLDS. @default DEFAULT_ALARM_THRESHOLDS */
  readonly thresholds?: Partial<AlarmThresholds>;
}

/**
 * Refuses more than one notification target.
 *
 * @param key - the prop path the target sits at, for the error
 * @throws XaaConfigError when two or three are given
 */
export function checkNotificationTarget(target: NotificationTarget, key = 'alarms'): void {
  const given = [target.email, target.topicArn, target.topic].filter((t) => t !== undefined);
  if (given.length > 1)
    throw new XaaConfigError(key, 'give one of "email", "topicArn" and "topic"');
}

/**
 * The server's alarms (ALARM_IDS), their notifications and a dashboard. XaaAuthorizationServer
 * makes one unless `alarms: false`; use it directly only to watch a server assembled from the
 * parts.
 */
export class Observability extends Construct {
  /** Every alarm, by id. */
  readonly alarms: Readonly<Record<AlarmId, Alarm>>;
  /** One page: alarm states, token outcomes, abuse, the KMS quota, routes, functions. */
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

    const metrics = new ServerMetrics(this, {
      functions: props.functions,
      httpApi: props.httpApi,
      stageName: props.stage.stageName,
      accessLogs: props.accessLogs,
      namespace: props.metricsNamespace,
      service: props.serviceName ?? TOKEN_METRICS.serviceName,
    });
    const specs = alarmSpecs(metrics, this.thresholds);
    this.alarms = Object.fromEntries(
      ALARM_IDS.map((alarmId) => [alarmId, newAlarm(this, alarmId, specs[alarmId])]),
    ) as Record<AlarmId, Alarm>;

    this.topic = this.notificationTopic(props);
    if (this.topic) this.notify(this.topic);
    this.dashboard = buildDashboard(this, {
      metrics,
      alarms: this.alarms,
      specs,
      thresholds: this.thresholds,
    });
  }

  private notificationTopic(target: NotificationTarget): ITopic | undefined {
    if (target.topic) return target.topic;
    if (target.topicArn) return Topic.fromTopicArn(this, 'Topic', target.topicArn);
    if (!target.email) return undefined;
    // Not encrypted: alarm messages carry alarm names, states and metric values, nothing secret,
    // and CloudWatch cannot publish under the AWS-managed SNS key. Publishing requires TLS.
    const topic = new Topic(this, 'Topic', {
      displayName: `Alarms of ${Stack.of(this).stackName}`,
      enforceSSL: true,
    });
    topic.addSubscription(new EmailSubscription(target.email));
    return topic;
  }

  /** Both ways: an operator hears when an alarm fires and when it clears. */
  private notify(topic: ITopic): void {
    const action = new SnsAction(topic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
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
