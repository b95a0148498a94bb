/** Token endpoint metrics (CloudWatch EMF through Powertools): every request, tokens issued, refusals by error. */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';

const TOKEN_METRICS = {
  requests: 'TokenRequests',
  issued: 'TokensIssued',
  refused: 'TokenRequestsRefused',
  errorDimension: 'error',
} as const;

/** The token handler's onOutcome hook: the OAuth error code, or undefined when a token was issued. */
export function recordTokenOutcome(metrics: Metrics): (error: string | undefined) => void {
  return (error) => {
    metrics.addMetric(TOKEN_METRICS.requests, MetricUnit.Count, 1);
    if (error === undefined) {
      metrics.addMetric(TOKEN_METRICS.issued, MetricUnit.Count, 1);
      return;
    }
    // A dimension per error code belongs to this one data point only, not to the rest of the
    // invocation's metrics: a single metric is flushed on its own.
    const refused = metrics.singleMetric();
    refused.addDimension(TOKEN_METRICS.errorDimension, error);
    refused.addMetric(TOKEN_METRICS.refused, MetricUnit.Count, 1);
  };
}
