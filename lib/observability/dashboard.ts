/**
 * The dashboard: one page an operator reads top to bottom, alarm states first, then the token
 * path, abuse, the API, the routes and the functions. One builder per row.
 */
import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  TextWidget,
  type Alarm,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { TOKEN_METRICS } from '../../lambda/cdk-shared/token-metric-names.js';
import type { AlarmId, AlarmSpecs } from './alarms.js';
import { PERIOD, type ServerMetrics } from './metrics.js';
import type { AlarmThresholds } from './thresholds.js';

/** What the dashboard shows. */
export interface DashboardInputs {
  readonly metrics: ServerMetrics;
  readonly alarms: Readonly<Record<AlarmId, Alarm>>;
  /** The alarms' own series, graphed as they are alarmed on. */
  readonly specs: AlarmSpecs;
  readonly thresholds: AlarmThresholds;
}

/** Half the dashboard's width. */
const WIDE = { width: 12, height: 6 } as const;

/** The dashboard, in `scope`, one `addWidgets` per row. */
export function buildDashboard(scope: Construct, inputs: DashboardInputs): Dashboard {
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  const { metrics, alarms, specs, thresholds } = inputs;
  for (const row of [
    statusRow(alarms),
    tokenRow(metrics),
    abuseRow(specs, thresholds),
    apiRow(metrics),
    routeRow(metrics),
    functionRow(metrics),
  ])
    dashboard.addWidgets(...row);
  return dashboard;
}

function statusRow(alarms: Readonly<Record<AlarmId, Alarm>>): IWidget[] {
  return [
    new TextWidget({
      markdown:
        '# Authorization server\nEach alarm has a runbook section in docs/operations.md ("Alarms").',
      width: 24,
      height: 2,
    }),
    new AlarmStatusWidget({ alarms: Object.values(alarms), width: 24, height: 4 }),
  ];
}

function tokenRow(m: ServerMetrics): IWidget[] {
  const { errorDimension: e, reasonDimension: r, refused } = TOKEN_METRICS;
  const refusals = `{${m.namespace},${e},${r},service} MetricName="${refused}"`;
  return [
    new GraphWidget({
      title: 'Token requests',
      left: [m.token(TOKEN_METRICS.requests), m.token(TOKEN_METRICS.issued)],
      ...WIDE,
    }),
    new GraphWidget({
      title: 'Token refusals by error and reason',
      left: [m.search(`${refusals} service="${m.service}"`)],
      ...WIDE,
    }),
  ];
}

function abuseRow(specs: AlarmSpecs, t: AlarmThresholds): IWidget[] {
  return [
    new GraphWidget({
      title: 'invalid_client and replays (5 min)',
      left: [specs.InvalidClientSpike.metric, specs.ReplaySpike.metric],
      leftAnnotations: [
        { value: t.invalidClientCount, label: 'InvalidClientSpike' },
        { value: t.replayCount, label: 'ReplaySpike' },
      ],
      ...WIDE,
    }),
    new GraphWidget({
      title: 'KMS RSA requests, % of the account quota (all callers)',
      left: [specs.KmsRsaRequestQuota.metric],
      leftAnnotations: [{ value: t.kmsRsaQuotaPercent, label: 'KmsRsaRequestQuota' }],
      leftYAxis: { min: 0, max: 100 },
      ...WIDE,
    }),
  ];
}

function apiRow(m: ServerMetrics): IWidget[] {
  return [
    new GraphWidget({
      title: 'API requests, 4xx, 5xx, 429',
      left: [m.api('Count'), m.api('4xx'), m.api('5xx'), m.throttled],
      ...WIDE,
    }),
    new GraphWidget({
      title: 'POST /token latency (ms)',
      left: ['p50', 'p90', 'p99'].map((s) =>
        m.tokenRoute('Latency', s).with({ label: `Latency ${s}` }),
      ),
      ...WIDE,
    }),
  ];
}

function routeRow(m: ServerMetrics): IWidget[] {
  const routes = '{AWS/ApiGateway,ApiId,Method,Resource,Stage}';
  return [
    new GraphWidget({
      title: 'Requests by route',
      left: [m.search(`${routes} MetricName="Count" ApiId="${m.apiId}"`)],
      ...WIDE,
    }),
    new GraphWidget({
      title: '5xx by route',
      left: [m.search(`${routes} MetricName="5xx" ApiId="${m.apiId}"`)],
      ...WIDE,
    }),
  ];
}

function functionRow(m: ServerMetrics): IWidget[] {
  return [
    new GraphWidget({
      title: 'Lambda errors and throttles',
      left: m.functions.flatMap(([name, fn]) => [
        fn.metricErrors({ period: PERIOD, label: `${name} errors` }),
        fn.metricThrottles({ period: PERIOD, label: `${name} throttles` }),
      ]),
      ...WIDE,
    }),
    new GraphWidget({
      title: 'Lambda duration p99 (ms)',
      left: m.functions.map(([name, fn]) =>
        fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name }),
      ),
      ...WIDE,
    }),
  ];
}
