/**
 * The browser policy (docs/spec.md CORS-ORIGINS), in one place for both places that enforce it:
 * the handlers' own preflight answers (local server) and API Gateway's CORS configuration (lib/),
 * which answers preflights before a function runs.
 */
export const CORS_POLICY = {
  /** Request headers a browser may send: client_secret_basic, the form body, a DPoP proof. */
  allowHeaders: ['authorization', 'content-type', 'dpop'],
  /** Response headers a browser may read: the server's DPoP nonce (DPOP-NONCE). */
  exposeHeaders: ['dpop-nonce'],
  /** The methods any route of this server answers from a browser. */
  allowMethods: ['GET', 'POST'],
  /** How long a browser may cache a preflight answer. */
  maxAgeSeconds: 600,
} as const;
