/**
 * The Lambda edge of a route handler: the invocation's request ids on every log line, a trace
 * subsegment per request, metrics flushed at the end. Powertools without middy: the route stays
 * the plain HttpHandler the local server runs.
 */
import type { Context } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { HttpEvent, HttpHandler, HttpResult } from '../http/types.js';

export interface Instruments {
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly tracer?: Tracer;
}

export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

export function instrumented(
  route: HttpHandler,
  { logger, metrics, tracer }: Instruments,
): LambdaHttpHandler {
  return async (event, context) => {
    logger.addContext(context);
    // API Gateway's id is the one in the access log: with it a log line can be matched to a request.
    logger.appendKeys({ api_request_id: event.requestContext?.requestId });
    metrics?.captureColdStartMetric();
    const segment = tracer?.isTracingEnabled() ? tracer.getSegment() : undefined;
    const subsegment = segment?.addNewSubsegment(`## ${context.functionName}`);
    if (tracer && subsegment) {
      tracer.setSegment(subsegment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    try {
      return await route(event);
    } finally {
      subsegment?.close();
      if (tracer && segment) tracer.setSegment(segment);
      metrics?.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
