/**
 * The bytes a token writes to CloudWatch Logs besides the function's own lines (which
 * bench/cold-start.ts measures): Lambda's START, END and REPORT lines, and API Gateway's access
 * log line. Built from their formats with ids and values of their real length, and measured.
 */

/** Lambda's platform lines for one invocation, text format, X-Ray tracing on (as the stack sets it). */
export function platformLines(): string {
  const id = '8f5e6d4c-3b2a-4190-8e7d-6c5b4a392817';
  return (
    `START RequestId: ${id} Version: $LATEST\n` +
    `END RequestId: ${id}\n` +
    `REPORT RequestId: ${id}\tDuration: 13.52 ms\tBilled Duration: 14 ms\tMemory Size: 512 MB\t` +
    `Max Memory Used: 104 MB\t\nXRAY TraceId: 1-6756e0a1-3f2b6c1d9e8a7b6c5d4e3f20\t` +
    `SegmentId: 7b6c5d4e3f2a1b0c\tSampled: true\t\n`
  );
}

/**
 * One access log line of POST /token: the fields of lib/authorization-server-api.ts
 * (ACCESS_LOG_FIELDS), with the values a token request has.
 */
export function accessLogLine(): string {
  return `${JSON.stringify({
    requestId: 'Kx9fGhT1IAMEVnA=',
    requestTime: '08/Dec/2026:00:28:29 +0000',
    sourceIp: '203.0.113.10',
    userAgent: 'python-requests/2.32.3',
    routeKey: 'POST /token',
    status: '200',
    protocol: 'HTTP/1.1',
    responseLength: '1043',
    responseLatency: '15',
    integrationLatency: '14',
    integrationError: '-',
    errorMessage: '-',
  })}\n`;
}
