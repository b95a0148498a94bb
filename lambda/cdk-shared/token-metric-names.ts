/**
 * The token function's metric names and dimensions, shared by the function that emits them
 * (token-metrics.ts) and the stack that graphs and alarms on them (lib/): no AWS or Powertools
 * import, so the construct can read them at synth time.
 */
export const TOKEN_METRICS = {
  /** Powertools' `service` dimension on every token metric. */
  serviceName: 'xaa-auth-server',
  requests: 'TokenRequests',
  issued: 'TokensIssued',
  refused: 'TokenRequestsRefused',
  errorDimension: 'error',
  reasonDimension: 'reason',
} as const;
