/**
 * The alarms: what each watches and when it fires, by id. Each id is a heading of the runbook in
 * docs/operations.md ("Alarms").
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { TOKEN_METRICS } from '../../lambda/cdk-shared/token-metric-names.js';
import { PATHS } from '../../lambda/oauth/metadata.js';
import type { ReasonCode } from '../../lambda/oauth/errors.js';
import { PERIOD, rate, reasonsOf, sum, type FunctionName, type ServerMetrics } from './metrics.js';
import type { AlarmThresholds } from './thresholds.js';

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
/** One alarm's id, which is also its construct id. */
export type AlarmId = (typeof ALARM_IDS)[number];

/** The refusals of a replayed assertion (JAG-REPLAY), DPoP proof (DPOP-INVALID) or client assertion (AUTH-PRIVATE-KEY-JWT). */
export const REPLAY_REASONS = [
  'jti_replayed',
  'dpop_jti_replayed',
  'client_assertion_replayed',
] as const satisfies readonly ReasonCode[];

/** What one alarm watches and when it fires. */
export interface AlarmSpec {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly description: string;
  /** Breaching periods that fire the alarm, out of `evaluationPeriods`. */
  readonly datapointsToAlarm?: number;
  readonly evaluationPeriods?: number;
}

export type AlarmSpecs = Readonly<Record<AlarmId, AlarmSpec>>;
type Specs<K extends AlarmId> = Record<K, AlarmSpec>;

/** Every alarm's spec, from the metrics and the thresholds in force. */
export function alarmSpecs(m: ServerMetrics, t: AlarmThresholds): AlarmSpecs {
  return {
    ...tokenAlarms(m, t),
    ...abuseAlarms(m, t),
    ...apiAlarms(m, t),
    ...functionAlarms(m, t),
  };
}

/** The alarm of one spec, in `scope` under its id. */
export function newAlarm(scope: Construct, alarmId: AlarmId, spec: AlarmSpec): Alarm {
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
      metric: rate(
        'POST /token 5xx %',
        t.minRequests,
        { errors: m.tokenRoute('5xx') },
        m.tokenRoute('Count'),
      ),
      threshold: t.tokenServerErrorPercent,
      description: `POST /token answered 5xx to ${t.tokenServerErrorPercent}% or more of its requests.`,
    },
    TokenUnavailableRate: {
      metric: rate(
        'temporarily_unavailable %',
        t.minRequests,
        unavailable,
        m.token(TOKEN_METRICS.requests),
      ),
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
      metric: m.refusalsOf('invalid_client'),
      threshold: t.invalidClientCount,
      description: `${t.invalidClientCount} or more token requests in 5 minutes failed client authentication (invalid_client).`,
    },
    ReplaySpike: {
      metric: sum('replayed assertions and proofs', m.refusals('r', REPLAY_REASONS)),
      threshold: t.replayCount,
      description: `${t.replayCount} or more replayed ID-JAGs, DPoP proofs or client assertions were refused in 5 minutes.`,
    },
  };
}

function apiAlarms(
  m: ServerMetrics,
  t: AlarmThresholds,
): Specs<'ApiServerErrorRate' | 'ApiThrottledRate' | 'JwksErrors'> {
  return {
    ApiServerErrorRate: {
      metric: rate('API 5xx %', t.minRequests, { errors: m.api('5xx') }, m.api('Count')),
      threshold: t.apiServerErrorPercent,
      description: `The API answered 5xx to ${t.apiServerErrorPercent}% or more of all requests.`,
    },
    ApiThrottledRate: {
      metric: rate('API 429 %', t.minRequests, { throttled: m.throttled }, m.api('Count')),
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

type FunctionAlarmId = `${FunctionName}Function${'Errors' | 'Throttles'}`;

function functionAlarms(m: ServerMetrics, t: AlarmThresholds): Specs<FunctionAlarmId> {
  const specs: Partial<Specs<FunctionAlarmId>> = {};
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
  return specs as Specs<FunctionAlarmId>;
}
