/**
 * AWS SDK client settings shared by the functions. A request sits inside API Gateway's 30 s
 * integration limit and a browser's patience: bound each call so a stuck connection becomes a
 * retry, then a clean 503, rather than a hung request.
 */
export const SDK_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
} as const;
