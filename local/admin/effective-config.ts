/**
 * The configuration the admin checks against must be the server's, not the admin shell's: a
 * running local server tells it over its admin socket, a stack in its `ServiceEnvironment` output.
 * Both carry it the way the server itself reads it, as environment variables, and the admin parses
 * them with the server's own parser (loadServiceConfig). Never a secret: only the variables below.
 */
import { loadServiceConfig, type ServiceConfig } from '../../lambda/config.js';

/** The variables that shape what the token endpoint accepts and grants; none is a secret. */
export const SERVICE_VARIABLES = [
  'ISSUER',
  'TRUSTED_ISSUERS',
  'CORS_ORIGINS',
  'ACCESS_TOKEN_TTL',
  'MAX_ACCESS_TOKEN_TTL',
  'CLOCK_SKEW',
  'SCOPES_SUPPORTED',
  'DPOP_REQUIRED_RESOURCES',
  'DPOP_NONCE',
  'CLIENT_METADATA_DOCUMENTS',
  'CLIENT_METADATA_HTTP_LOCALHOST',
] as const;

export type ServiceEnvironment = Partial<Record<(typeof SERVICE_VARIABLES)[number], string>>;

/** A parsed configuration back as the variables that give it (DPOP_NONCE_KEY left out). */
export function serviceEnvironment(c: ServiceConfig): ServiceEnvironment {
  return {
    ISSUER: c.issuer,
    TRUSTED_ISSUERS: JSON.stringify(
      c.trustedIssuers.map((t) => ({
        issuer: t.issuer,
        jwks_uri: t.jwksUri,
        algorithms: t.algorithms,
        max_assertion_lifetime: t.maxAssertionLifetime,
        allow_reuse: t.allowReuse,
        subject_prefix: t.subjectPrefix,
        default_scope: t.defaultScope,
        ...(t.tenant !== undefined && { tenant: t.tenant }),
      })),
    ),
    CORS_ORIGINS: c.corsOrigins.join(','),
    ACCESS_TOKEN_TTL: String(c.accessTokenTtl),
    MAX_ACCESS_TOKEN_TTL: String(c.maxAccessTokenTtl),
    CLOCK_SKEW: String(c.clockSkew),
    SCOPES_SUPPORTED: c.scopesSupported.join(' '),
    DPOP_REQUIRED_RESOURCES: c.dpop.requiredResources.join(' '),
    DPOP_NONCE: c.dpop.nonceRequired ? 'required' : 'off',
    CLIENT_METADATA_DOCUMENTS: JSON.stringify(
      c.clientMetadata.rules.map((r) => ({
        url_prefix: r.urlPrefix,
        scopes: r.scopes,
        resources: r.resources,
        ...(r.issuers !== undefined && { issuers: r.issuers }),
        ...(r.tokenLifetime !== undefined && { token_lifetime: r.tokenLifetime }),
        ...(r.dpopBoundRequired !== undefined && { dpop_bound_required: r.dpopBoundRequired }),
      })),
    ),
    CLIENT_METADATA_HTTP_LOCALHOST: c.clientMetadata.allowHttpLoopback ? '1' : '0',
  };
}

/** Only the known variables, as strings: whatever else a source holds is ignored. */
export function pickServiceEnvironment(value: unknown): ServiceEnvironment | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const env: ServiceEnvironment = {};
  for (const name of SERVICE_VARIABLES) {
    const v = (value as Record<string, unknown>)[name];
    if (typeof v === 'string') env[name] = v;
  }
  return env;
}

/** The configuration the admin used, and where it came from (the admin says which). */
export interface EffectiveConfig {
  readonly config: ServiceConfig;
  readonly source: string;
}

export function effectiveConfig(env: ServiceEnvironment, source: string): EffectiveConfig {
  return { config: loadServiceConfig(env), source };
}
