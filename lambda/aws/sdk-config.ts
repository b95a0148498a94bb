/**
 * AWS SDK client settings shared by the functions. The token service gives a request's port calls
 * 3 s in all (TokenServiceDeps.dependencyTimeoutMs): each attempt is bounded well inside that, so
 * a stuck connection becomes a retry that can still finish in time, then a clean 503.
 */
export const SDK_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 800 },
} as const;
