/**
 * Environment → typed, validated configuration. Nothing else reads process.env, and this reads it
 * once at start-up: a malformed value stops start-up with a message naming the variable.
 */
import { parseDpopNonceKey } from './oauth/dpop-nonce.js';
import { isLoopbackHost } from './oauth/syntax.js';

export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface TrustedIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Asymmetric JWS algorithms accepted from this issuer; `none` and HMAC can never be listed. */
  readonly algorithms: readonly string[];
  /** Longest accepted `exp - iat`, in seconds (the clock skew is added on top). */
  readonly maxAssertionLifetime: number;
  /** Accept the same `jti` more than once (JAG-REPLAY policy switch). */
  readonly allowReuse: boolean;
  /** Prepended to `sub` in access tokens, to keep IdPs' users apart (GRANT-SUBJECT). */
  readonly subjectPrefix: string;
  /**
   * GRANT-SCOPE-DEFAULT: what an ID-JAG without a `scope` claim is worth. `registered`: the
   * client's registered scopes (narrowed by the request's `scope`); `none`: no scope at all.
   */
  readonly defaultScope: DefaultScope;
  /** JAG-TENANT: the one tenant of a multi-tenant issuer whose ID-JAGs are accepted. */
  readonly tenant?: string;
}

export type DefaultScope = 'registered' | 'none';

/** CIMD-POLICY: which Client ID Metadata Document URLs are admitted as clients, and on what terms. */
export interface ClientMetadataPolicy {
  readonly rules: readonly ClientMetadataRule[];
  /** CIMD-DEV-HTTP: `http://localhost` documents and keys are fetched too (a demo on one machine). */
  readonly allowHttpLoopback: boolean;
}

export interface ClientMetadataRule {
  /**
   * A client id is admitted when it starts with this URL: same scheme, same port, the same host
   * (or, for `https://*.example.com/…`, any host under it), and a path under this one.
   */
  readonly urlPrefix: string;
  /** The trusted issuers whose ID-JAGs such a client may redeem; every one when absent. */
  readonly issuers?: readonly string[];
  /** What such a client may be granted, as a registered client's record says it. */
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  readonly tokenLifetime?: number;
  readonly dpopBoundRequired?: boolean;
}

export interface ServiceConfig {
  readonly issuer: string;
  readonly trustedIssuers: readonly TrustedIssuer[];
  readonly corsOrigins: readonly string[];
  /** Access-token lifetime for clients that set none, in seconds. */
  readonly accessTokenTtl: number;
  /** Cap on any client's access-token lifetime, in seconds. */
  readonly maxAccessTokenTtl: number;
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds. */
  readonly clockSkew: number;
  /** Advertised as `scopes_supported` when non-empty. */
  readonly scopesSupported: readonly string[];
  /** Proof of possession (DPOP-*). */
  readonly dpop: DpopConfig;
  /** CIMD-POLICY: no rule admits no metadata document (and discovery does not advertise them). */
  readonly clientMetadata: ClientMetadataPolicy;
}

export interface DpopConfig {
  /** DPOP-REQUIRED: resources whose access tokens must be DPoP-bound (DPOP_REQUIRED_RESOURCES). */
  readonly requiredResources: readonly string[];
  /** DPOP-NONCE: every proof must carry a current server nonce (DPOP_NONCE=required). */
  readonly nonceRequired: boolean;
  /**
   * The nonce HMAC key (DPOP_NONCE_KEY, base64url, at least 32 bytes). Every instance that serves
   * the token endpoint must hold the same one; when it is not set here the entry point provides it.
   */
  readonly nonceKey?: Uint8Array;
}

export interface LocalConfig extends ServiceConfig {
  readonly port: number;
  /** The address the local server listens on: loopback unless asked otherwise. */
  readonly host: string;
  readonly dataDir: string;
  /** DATA_FSYNC: flush every spent jti to the disk before answering (survives a power cut). */
  readonly dataFsync: boolean;
}

/**
 * A variable that cannot be used. The fields are what a caller branches on or re-words (the CDK
 * construct names its own props instead of the variables); the message is for a person.
 */
export class ConfigError extends Error {
  constructor(
    /** The environment variable, as the message names it first. */
    readonly variable: string,
    /** What is wrong with its value, without the variable's name or the place in it. */
    readonly problem: string,
    /**
     * Where in a JSON value the problem is: an array index, then a member (`[0, 'jwks_uri']`).
     * Empty when it is the value as a whole.
     */
    readonly path: readonly (string | number)[] = [],
  ) {
    super(`${variable}: ${[...path.map(describeStep), problem].join(' ')}`);
    this.name = 'ConfigError';
  }
}

/** A step of a ConfigError's path as the message reads it: `entry 0`, `"jwks_uri"`. */
function describeStep(step: string | number): string {
  return typeof step === 'number' ? `entry ${step}` : JSON.stringify(step);
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_TRUSTED_ISSUERS =
  '[{"issuer":"https://idp.xaa.dev","jwks_uri":"https://idp.xaa.dev/jwks"}]';
export const DEFAULT_CORS_ORIGINS = 'https://xaa.dev,https://app.xaa.dev';

export function loadServiceConfig(env: Env, defaults: { issuer?: string } = {}): ServiceConfig {
  const issuer = parseIssuer(env.ISSUER ?? defaults.issuer);
  const accessTokenTtl = positiveInt('ACCESS_TOKEN_TTL', env.ACCESS_TOKEN_TTL, 3600);
  const maxAccessTokenTtl = positiveInt(
    'MAX_ACCESS_TOKEN_TTL',
    env.MAX_ACCESS_TOKEN_TTL,
    Math.max(86400, accessTokenTtl),
  );
  if (accessTokenTtl > maxAccessTokenTtl) {
    throw new ConfigError(
      'ACCESS_TOKEN_TTL',
      `must not exceed MAX_ACCESS_TOKEN_TTL (${maxAccessTokenTtl})`,
    );
  }
  const trustedIssuers = parseTrustedIssuers(
    env.TRUSTED_ISSUERS ?? DEFAULT_TRUSTED_ISSUERS,
    issuer,
  );
  return {
    issuer,
    trustedIssuers,
    corsOrigins: loadCorsOrigins(env),
    accessTokenTtl,
    maxAccessTokenTtl,
    clockSkew: nonNegativeInt('CLOCK_SKEW', env.CLOCK_SKEW, 60),
    scopesSupported: (env.SCOPES_SUPPORTED ?? '').split(' ').filter(Boolean),
    dpop: parseDpop(env),
    clientMetadata: checkRuleIssuers(parseClientMetadataPolicy(env, issuer), trustedIssuers),
  };
}

/** CIMD-POLICY: a rule's issuers are trusted ones (a misspelt one would admit nothing, silently). */
function checkRuleIssuers(
  policy: ClientMetadataPolicy,
  trusted: readonly TrustedIssuer[],
): ClientMetadataPolicy {
  policy.rules.forEach((rule, i) => {
    const stranger = rule.issuers?.find((iss) => !trusted.some((t) => t.issuer === iss));
    if (stranger !== undefined)
      throw new ConfigError(
        'CLIENT_METADATA_DOCUMENTS',
        `names ${JSON.stringify(stranger)}, which is not a trusted issuer (TRUSTED_ISSUERS)`,
        [i, 'issuers'],
      );
  });
  return policy;
}

function parseDpop(env: Env): DpopConfig {
  const requiredResources = (env.DPOP_REQUIRED_RESOURCES ?? '').split(/[\s,]+/).filter(Boolean);
  for (const r of requiredResources) {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(r) || r.includes('#') || !URL.canParse(r)) {
      throw new ConfigError(
        'DPOP_REQUIRED_RESOURCES',
        `${JSON.stringify(r)} is not an absolute URI without a fragment`,
      );
    }
  }
  const mode = (env.DPOP_NONCE ?? '').trim() || 'off';
  if (mode !== 'off' && mode !== 'required') {
    throw new ConfigError('DPOP_NONCE', `must be "off" or "required", got ${JSON.stringify(mode)}`);
  }
  const keyText = env.DPOP_NONCE_KEY?.trim();
  const nonceKey = keyText ? parseDpopNonceKey(keyText) : undefined;
  // Never the value in the message: it is a secret.
  if (keyText && !nonceKey)
    throw new ConfigError('DPOP_NONCE_KEY', 'must be base64url of at least 32 random bytes');
  return {
    requiredResources,
    nonceRequired: mode === 'required',
    ...(nonceKey && { nonceKey }),
  };
}

export function loadLocalConfig(env: Env): LocalConfig {
  const port = portNumber(env.PORT);
  return {
    ...loadServiceConfig(env, { issuer: `http://localhost:${port}` }),
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    dataDir: env.DATA_DIR?.trim() || '.local',
    dataFsync: flag('DATA_FSYNC', env.DATA_FSYNC),
  };
}

function flag(variable: string, raw: string | undefined): boolean {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new ConfigError(variable, `must be 1, true, 0 or false, got ${JSON.stringify(raw)}`);
}

function portNumber(raw: string | undefined): number {
  const port = nonNegativeInt('PORT', raw, 3000);
  if (port > 65535)
    throw new ConfigError('PORT', `must be a port number (0-65535), got ${JSON.stringify(raw)}`);
  return port;
}

function positiveInt(variable: string, raw: string | undefined, fallback: number): number {
  const value = nonNegativeInt(variable, raw, fallback);
  if (value === 0) throw new ConfigError(variable, 'must be a positive whole number of seconds');
  return value;
}

function nonNegativeInt(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new ConfigError(variable, `must be a whole number, got ${JSON.stringify(raw)}`);
  }
  return Number(raw.trim());
}

const isLoopback = (url: URL): boolean => isLoopbackHost(url.hostname);

/** An https URL (http only on loopback) with no query or fragment; `refuse` throws the problem. */
function parseUrl(raw: string, refuse: (problem: string) => never): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    refuse(`must be an absolute URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url)))
    refuse(`must use https (http only on localhost), got ${JSON.stringify(raw)}`);
  if (url.search || url.hash || raw.includes('#') || raw.includes('?'))
    refuse(`must have no query or fragment, got ${JSON.stringify(raw)}`);
  return url;
}

function parseIssuer(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw new ConfigError('ISSUER', 'is required');
  const url = parseUrl(raw, (problem) => {
    throw new ConfigError('ISSUER', `the issuer ${problem}`);
  });
  // Discovery is served at the host's root well-known paths (RFC 8414 §3 would move them for an
  // issuer with a path), so the issuer stays path-less.
  if (url.pathname !== '/') {
    throw new ConfigError('ISSUER', `must have no path, got ${JSON.stringify(raw)}`);
  }
  // The issuer is compared byte for byte (DISC-ISSUER, JAG-AUDIENCE): with a trailing slash every
  // ID-JAG minted for the usual form would be refused, so the ambiguous form is refused here.
  if (raw.endsWith('/')) {
    throw new ConfigError(
      'ISSUER',
      `must not end with "/" (ID-JAGs must name it byte for byte as their aud): use ${JSON.stringify(raw.replace(/\/+$/, ''))}`,
    );
  }
  return raw;
}

const ISSUER_KEYS = new Set([
  'issuer',
  'jwks_uri',
  'algorithms',
  'max_assertion_lifetime',
  'allow_reuse',
  'subject_prefix',
  'default_scope',
  'tenant',
]);

function parseTrustedIssuers(raw: string, ourIssuer: string): TrustedIssuer[] {
  const V = 'TRUSTED_ISSUERS';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(
      V,
      'must be a JSON array of {"issuer", "jwks_uri"} objects, and is not valid JSON',
    );
  }
  if (!Array.isArray(parsed))
    throw new ConfigError(V, 'must be a JSON array of {"issuer", "jwks_uri"} objects');
  const seen = new Set<string>();
  const issuers = parsed.map((entry: unknown, i): TrustedIssuer => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(V, 'must be an object with "issuer" and "jwks_uri"', [i]);
    }
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!ISSUER_KEYS.has(key))
        throw new ConfigError(V, `has unknown key ${JSON.stringify(key)}`, [i]);
    }
    if (typeof e.issuer !== 'string' || e.issuer === '')
      throw new ConfigError(V, 'needs "issuer" (a string)', [i]);
    if (typeof e.jwks_uri !== 'string')
      throw new ConfigError(V, 'needs "jwks_uri" (a string)', [i]);
    parseUrl(e.issuer, (problem) => {
      throw new ConfigError(V, problem, [i, 'issuer']);
    });
    parseUrl(e.jwks_uri, (problem) => {
      throw new ConfigError(V, problem, [i, 'jwks_uri']);
    });
    if (e.issuer === ourIssuer) {
      // JAG-ISSUER: an authorization server must not accept assertions it issued itself.
      throw new ConfigError(V, "names this server's own issuer", [i, 'issuer']);
    }
    if (seen.has(e.issuer)) throw new ConfigError(V, `repeats issuer ${e.issuer}`, [i]);
    seen.add(e.issuer);
    const algorithms = e.algorithms ?? ['RS256'];
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      throw new ConfigError(V, 'must be a non-empty array', [i, 'algorithms']);
    }
    for (const alg of algorithms) {
      if (!(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(alg)) {
        throw new ConfigError(
          V,
          `may hold only ${ASYMMETRIC_ALGORITHMS.join(', ')}; got ${JSON.stringify(alg)}`,
          [i, 'algorithms'],
        );
      }
    }
    const lifetime = e.max_assertion_lifetime ?? 300;
    if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime <= 0) {
      throw new ConfigError(V, 'must be a positive whole number of seconds', [
        i,
        'max_assertion_lifetime',
      ]);
    }
    const allowReuse = e.allow_reuse ?? false;
    if (typeof allowReuse !== 'boolean')
      throw new ConfigError(V, 'must be true or false', [i, 'allow_reuse']);
    const subjectPrefix = e.subject_prefix ?? '';
    if (typeof subjectPrefix !== 'string')
      throw new ConfigError(V, 'must be a string', [i, 'subject_prefix']);
    const tenant = e.tenant;
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant === ''))
      throw new ConfigError(V, 'must be a non-empty string', [i, 'tenant']);
    const defaultScope = e.default_scope === undefined ? 'registered' : e.default_scope;
    if (defaultScope !== 'registered' && defaultScope !== 'none')
      throw new ConfigError(V, 'must be "registered" or "none"', [i, 'default_scope']);
    return {
      issuer: e.issuer,
      jwksUri: e.jwks_uri,
      algorithms: algorithms as string[],
      maxAssertionLifetime: lifetime,
      allowReuse,
      subjectPrefix,
      defaultScope,
      ...(tenant !== undefined && { tenant }),
    };
  });
  checkSubjectsStayApart(issuers);
  return issuers;
}

/**
 * GRANT-SUBJECT: an access token's `sub` must name one user of one IdP. With a single IdP its `sub`
 * is used as it is. With several, each IdP's subjects get its own prefix, and no prefix may begin
 * another: then `prefix + sub` can be split back into exactly one (issuer, sub), so no IdP can mint
 * a `sub` that lands on another IdP's user (an unprefixed IdP could mint "acme|alice" to become the
 * "acme|" IdP's alice; a prefix "a" could mint "cme|alice" to reach "acme|alice").
 */
function checkSubjectsStayApart(issuers: readonly TrustedIssuer[]): void {
  if (issuers.length < 2) return;
  const why =
    'with several trusted issuers, each needs its own subject prefix and no prefix may begin ' +
    'another, so that two IdPs can never produce the same access-token sub';
  issuers.forEach((t, i) => {
    const path = [i, 'subject_prefix'];
    if (t.subjectPrefix === '') {
      throw new ConfigError('TRUSTED_ISSUERS', `is required (${t.issuer}): ${why}`, path);
    }
    issuers.forEach((other, j) => {
      if (i !== j && other.subjectPrefix.startsWith(t.subjectPrefix)) {
        throw new ConfigError(
          'TRUSTED_ISSUERS',
          `${JSON.stringify(t.subjectPrefix)} begins ${JSON.stringify(other.subjectPrefix)}, ` +
            `the prefix of ${other.issuer}: ${why}`,
          path,
        );
      }
    });
  });
}

/** CORS_ORIGINS alone, for a function that needs nothing else of the service configuration. */
export function loadCorsOrigins(env: Env): string[] {
  return parseOrigins(env.CORS_ORIGINS ?? DEFAULT_CORS_ORIGINS);
}

function parseOrigins(raw: string): string[] {
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(
          'CORS_ORIGINS',
          `${JSON.stringify(origin)} is not an origin (scheme://host[:port])`,
        );
      }
      if (url.origin !== origin) {
        throw new ConfigError(
          'CORS_ORIGINS',
          `${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path or trailing slash)`,
        );
      }
      return origin;
    });
}

const CIMD_RULE_KEYS = new Set([
  'url_prefix',
  'issuers',
  'scopes',
  'resources',
  'token_lifetime',
  'dpop_bound_required',
]);

/**
 * CIMD-POLICY from CLIENT_METADATA_DOCUMENTS (a JSON array of rules) and CIMD-DEV-HTTP from
 * CLIENT_METADATA_HTTP_LOCALHOST. Each rule needs a URL prefix precise enough that its origin
 * cannot be extended (`https://host/`, not `https://host`), and the scopes and resources its
 * clients may be granted.
 */
function parseClientMetadataPolicy(env: Env, ourIssuer: string): ClientMetadataPolicy {
  const V = 'CLIENT_METADATA_DOCUMENTS';
  const allowHttpLoopback = flag(
    'CLIENT_METADATA_HTTP_LOCALHOST',
    env.CLIENT_METADATA_HTTP_LOCALHOST,
  );
  const raw = env[V]?.trim();
  if (!raw) return { rules: [], allowHttpLoopback };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(
      V,
      'must be a JSON array of {"url_prefix", "scopes", "resources"} objects, and is not valid JSON',
    );
  }
  if (!Array.isArray(parsed))
    throw new ConfigError(
      V,
      'must be a JSON array of {"url_prefix", "scopes", "resources"} objects',
    );
  const strings = (x: unknown) =>
    Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === 'string' && v !== '');
  const rules = parsed.map((entry: unknown, i): ClientMetadataRule => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ConfigError(V, 'must be an object with "url_prefix", "scopes" and "resources"', [
        i,
      ]);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!CIMD_RULE_KEYS.has(key))
        throw new ConfigError(V, `has unknown key ${JSON.stringify(key)}`, [i]);
    if (typeof e.url_prefix !== 'string')
      throw new ConfigError(V, 'needs "url_prefix" (a string)', [i]);
    const problem = urlPrefixProblem(e.url_prefix, allowHttpLoopback);
    if (problem) throw new ConfigError(V, problem, [i, 'url_prefix']);
    if (!strings(e.scopes))
      throw new ConfigError(V, 'needs "scopes" (a non-empty array of strings)', [i]);
    if (!strings(e.resources))
      throw new ConfigError(V, 'needs "resources" (a non-empty array of resource URIs)', [i]);
    for (const r of e.resources as string[])
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(r) || r.includes('#') || !URL.canParse(r))
        throw new ConfigError(
          V,
          `resource ${JSON.stringify(r)} is not an absolute URI without a fragment`,
          [i],
        );
    if (e.issuers !== undefined && !strings(e.issuers))
      throw new ConfigError(V, 'must be a non-empty array of trusted issuers', [i, 'issuers']);
    if (e.issuers !== undefined && (e.issuers as string[]).includes(ourIssuer))
      throw new ConfigError(V, "names this server's own issuer", [i, 'issuers']);
    const lifetime = e.token_lifetime;
    if (
      lifetime !== undefined &&
      !(typeof lifetime === 'number' && Number.isInteger(lifetime) && lifetime > 0)
    )
      throw new ConfigError(V, 'must be a positive whole number of seconds', [i, 'token_lifetime']);
    if (e.dpop_bound_required !== undefined && typeof e.dpop_bound_required !== 'boolean')
      throw new ConfigError(V, 'must be true or false', [i, 'dpop_bound_required']);
    return {
      urlPrefix: e.url_prefix,
      scopes: [...new Set(e.scopes as string[])],
      resources: [...new Set(e.resources as string[])],
      ...(e.issuers !== undefined && { issuers: e.issuers as string[] }),
      ...(lifetime !== undefined && { tokenLifetime: lifetime as number }),
      ...(e.dpop_bound_required === true && { dpopBoundRequired: true }),
    };
  });
  return { rules, allowHttpLoopback };
}

/** Why a CIMD-POLICY URL prefix cannot be used, or undefined when it can. */
function urlPrefixProblem(prefix: string, allowHttpLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(prefix.replace('://*.', '://wildcard.'));
  } catch {
    return `must be an absolute URL, got ${JSON.stringify(prefix)}`;
  }
  const loopbackHttp = url.protocol === 'http:' && isLoopback(url);
  if (url.protocol !== 'https:' && !(loopbackHttp && allowHttpLoopback))
    return `must use https (http://localhost only with CLIENT_METADATA_HTTP_LOCALHOST=1), got ${JSON.stringify(prefix)}`;
  if (
    url.search ||
    url.hash ||
    url.username ||
    url.password ||
    prefix.includes('#') ||
    prefix.includes('?')
  )
    return `must have no query, fragment or user, got ${JSON.stringify(prefix)}`;
  // "https://agents.example.com" would also admit "https://agents.example.com.evil.test/…".
  if (!prefix.includes('/', prefix.indexOf('://') + 3))
    return `must include a path, at least "/" after the host, got ${JSON.stringify(prefix)}`;
  // "https://host/agents" would also admit "https://host/agents-evil/…": a prefix ends a segment.
  if (!prefix.endsWith('/'))
    return `must end with "/" (it admits the documents under that path), got ${JSON.stringify(prefix)}`;
  if (/[%;\\]/.test(prefix))
    return `must hold no percent-escape, ";" or backslash, got ${JSON.stringify(prefix)}`;
  const wildcard = /^https:\/\/\*\.[^*/]+\.[^*/]+\//.test(prefix);
  if (prefix.includes('*') && !(wildcard && prefix.indexOf('*', 'https://*'.length) === -1))
    return `may hold "*" only as "https://*.domain.tld/" (a domain of two labels or more), got ${JSON.stringify(prefix)}`;
  return undefined;
}
