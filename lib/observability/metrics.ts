/**
 * Every metric the alarms and the dashboard read, each defined once, and the metric math that
 * combines them (rates, sums), in the manner of cdk-monitoring-constructs' metric factory.
 */
import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { MathExpression, Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { XaaConfigError } from '../config-error.js';
import { TOKEN_METRICS } from '../../lambda/cdk-shared/token-metric-names.js';
import { PATHS } from '../../lambda/oauth/metadata.js';
import { REASONS, type OAuthErrorCode, type ReasonCode } from '../../lambda/oauth/errors.js';

/** The period of every alarm and graph but the KMS quota's. */
export const PERIOD = Duration.minutes(5);
/** The 429 count from the access log: API Gateway has no metric of its own for throttled requests. */
const THROTTLED_METRIC = 'ApiThrottledRequests';
/** CloudWatch refuses an alarm that reads more than 10 metrics (a hard limit). */
const MAX_ALARM_METRICS = 10;

export type FunctionName = 'Discovery' | 'Jwks' | 'Token';

/** What the metrics are read from. */
export interface MetricSources {
  readonly functions: {
    readonly discovery: IFunction;
    readonly jwks: IFunction;
    readonly token: IFunction;
  };
  readonly httpApi: IHttpApi;
  readonly stageName: string;
  /** The API's access log group (JSON, with `status`): the source of the 429 count. */
  readonly accessLogs: ILogGroup;
  /** The token function's metrics namespace. */
  readonly namespace: string;
  /** The token function's Powertools service name: the `service` dimension of its metrics. */
  readonly service: string;
}

/** The metric factory: one method or getter per kind of series. */
export class ServerMetrics {
  readonly functions: ReadonlyArray<readonly [FunctionName, IFunction]>;
  readonly namespace: string;
  readonly service: string;
  readonly apiId: string;
  private readonly stageName: string;

  /** Makes, in `scope`, the access-log filter that counts 429s. */
  constructor(scope: Construct, sources: MetricSources) {
    this.functions = [
      ['Discovery', sources.functions.discovery],
      ['Jwks', sources.functions.jwks],
      ['Token', sources.functions.token],
    ];
    this.namespace = sources.namespace;
    this.service = sources.service;
    this.apiId = sources.httpApi.apiId;
    this.stageName = sources.stageName;
    new MetricFilter(scope, 'ThrottledFilter', {
      logGroup: sources.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: this.namespace,
      metricName: THROTTLED_METRIC,
      metricValue: '1',
      defaultValue: 0,
    });
  }

  /** The whole stage. */
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

  /** Every refusal with this OAuth `error`, whatever its reason: one series (token-metrics.ts). */
  refusalsOf(error: OAuthErrorCode): Metric {
    return this.token(TOKEN_METRICS.refused, { [TOKEN_METRICS.errorDimension]: error });
  }

  /** Requests the API answered with 429, counted from its access log. */
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

  /**
   * A CloudWatch search over every series matching `query` (5-minute sums): for graphs only, an
   * alarm cannot search.
   */
  search(query: string): MathExpression {
    return new MathExpression({
      expression: `SEARCH('${query}', 'Sum', 300)`,
      label: '',
      usingMetrics: {},
      period: PERIOD,
    });
  }
}

/** Every reason code refused with `error`. */
export function reasonsOf(error: OAuthErrorCode): ReasonCode[] {
  return (Object.keys(REASONS) as ReasonCode[]).filter((reason) => REASONS[reason] === error);
}

/** A percentage of `total`, zero below `minRequests`: a few requests make no rate. */
export function rate(
  label: string,
  minRequests: number,
  parts: Record<string, IMetric>,
  total: IMetric,
): MathExpression {
  const errors = Object.keys(parts)
    .map((k) => `FILL(${k}, 0)`)
    .join(' + ');
  return expression(label, `IF(total >= ${minRequests}, 100 * (${errors}) / total, 0)`, {
    ...parts,
    total,
  });
}

/** The sum of series of which any may have no data in a period. */
export function sum(label: string, parts: Record<string, IMetric>): MathExpression {
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
