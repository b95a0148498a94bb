/**
 * Token endpoint metrics (CloudWatch EMF through Powertools): every request, tokens issued, and
 * refusals by OAuth error and reason code.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Refusal } from '../oauth/errors.js';
import { TOKEN_METRICS } from '../cdk-shared/token-metric-names.js';

/** The token handler's onOutcome hook: the refusal, or undefined when a token was issued. */
export function recordTokenOutcome(metrics: Metrics): (refusal: Refusal | undefined) => void {
  return (refusal) => {
    metrics.addMetric(TOKEN_METRICS.requests, MetricUnit.Count, 1);
    if (refusal === undefined) {
      metrics.addMetric(TOKEN_METRICS.issued, MetricUnit.Count, 1);
      return;
    }
    // Dimensions belong to this one data point only, not to the rest of the invocation's metrics:
    // a single metric is flushed on its own. Both come from closed sets (REASONS), and the reason
    // determines the error, so there are at most as many series as reason codes.
    const refused = metrics.singleMetric();
    refused.addDimension(TOKEN_METRICS.errorDimension, refusal.error);
    refused.addDimension(TOKEN_METRICS.reasonDimension, refusal.reason);
    refused.addMetric(TOKEN_METRICS.refused, MetricUnit.Count, 1);
    // The same refusal once more, by its error alone: an alarm on every invalid_client reads one
    // series, however many reasons that error has (an alarm may read at most 10 metrics).
    const byError = metrics.singleMetric();
    byError.addDimension(TOKEN_METRICS.errorDimension, refusal.error);
    byError.addMetric(TOKEN_METRICS.refused, MetricUnit.Count, 1);
  };
}
