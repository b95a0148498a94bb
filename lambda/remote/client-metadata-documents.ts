/**
 * Clients that arrive unregistered, named by the URL of their Client ID Metadata Document
 * (draft-ietf-oauth-client-id-metadata-document; CIMD-*): admitted by the operator's policy before
 * anything is fetched, fetched through the outbound guard, validated, and cached for a bounded
 * time in a bounded number of entries.
 */
import type { JWK } from 'jose';
import type { ClientMetadataPolicy, ClientMetadataRule } from '../config.js';
import { CLIENT_ASSERTION_ALGORITHMS, MAX_CLIENT_KEYS } from '../oauth/client-assertion.js';
import { InvalidClient, type ReasonFor } from '../oauth/errors.js';
import { quote, quoteValue } from '../oauth/quote.js';
import { isClientIdUrl } from '../oauth/syntax.js';
import { JWT_BEARER_GRANT, JWT_DPOP_GRANT } from '../oauth/grant-types.js';
import type { ClientMetadataDocuments, ClientRecord } from '../ports.js';
import {
  CLIENT_FETCH_TIMEOUT_MS,
  fetchableUrl,
  fetchJson,
  OutboundFetchError,
  type OutboundFailure,
  type OutboundFetchOptions,
} from './outbound-fetch.js';

export interface ClientMetadataOptions {
  /** CIMD-FETCH: the draft's guidance is a few kilobytes; a document past this is refused. */
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
  /** CIMD-CACHE: the bounds on how long a document is reused, whatever its Cache-Control says. */
  readonly minTtlSeconds?: number;
  readonly maxTtlSeconds?: number;
  /** Used when the response says nothing about caching. */
  readonly defaultTtlSeconds?: number;
  /** After a failure, the same URL is answered from that failure for this long, not refetched. */
  readonly retryAfterFailureSeconds?: number;
  /** The most documents held at once; the least recently used goes first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** For tests: name resolution (see outbound-fetch.ts). */
  readonly resolve?: OutboundFetchOptions['resolve'];
}

const FETCH_REASONS: Record<OutboundFailure, ReasonFor<'invalid_client'>> = {
  url_not_allowed: 'client_metadata_not_allowed',
  address_not_public: 'client_metadata_address_not_public',
  redirect_refused: 'client_metadata_redirect',
  http_status: 'client_metadata_unreachable',
  too_large: 'client_metadata_too_large',
  timeout: 'client_metadata_timeout',
  unreachable: 'client_metadata_unreachable',
  not_json: 'client_metadata_not_json',
};

/** Fields that hold or imply a shared secret: a metadata document is public (CIMD-DOCUMENT). */
const SECRET_FIELDS = ['client_secret', 'client_secret_expires_at'];

interface Entry {
  readonly outcome: ClientRecord | InvalidClient;
  readonly until: number;
}

export class RemoteClientMetadataDocuments implements ClientMetadataDocuments {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ClientRecord>>();
  private readonly opts: Required<Omit<ClientMetadataOptions, 'resolve'>> &
    Pick<ClientMetadataOptions, 'resolve'>;

  constructor(
    private readonly policy: ClientMetadataPolicy,
    options: ClientMetadataOptions = {},
  ) {
    this.opts = {
      maxBytes: options.maxBytes ?? 5 * 1024,
      timeoutMs: options.timeoutMs ?? CLIENT_FETCH_TIMEOUT_MS,
      minTtlSeconds: options.minTtlSeconds ?? 60,
      maxTtlSeconds: options.maxTtlSeconds ?? 24 * 3600,
      defaultTtlSeconds: options.defaultTtlSeconds ?? 300,
      retryAfterFailureSeconds: options.retryAfterFailureSeconds ?? 5,
      maxEntries: options.maxEntries ?? 1000,
      now: options.now ?? (() => Math.floor(Date.now() / 1000)),
      resolve: options.resolve,
    };
  }

  async resolve(clientId: string): Promise<ClientRecord> {
    // CIMD-POLICY: a URL no rule admits is refused before anything leaves this server.
    const rule = isClientIdUrl(clientId) ? this.ruleFor(clientId) : undefined;
    if (!rule)
      throw refuse(
        'client_metadata_not_allowed',
        `client_id ${quote(clientId)} is not a Client ID Metadata Document this server accepts`,
      );
    const now = this.opts.now();
    const cached = this.cache.get(clientId);
    if (cached && cached.until > now) {
      // Least recently used goes first: a hit moves the entry to the back.
      this.cache.delete(clientId);
      this.cache.set(clientId, cached);
      if (cached.outcome instanceof InvalidClient) throw cached.outcome;
      return cached.outcome;
    }
    let pending = this.inflight.get(clientId);
    if (!pending) {
      pending = this.load(clientId, rule).finally(() => this.inflight.delete(clientId));
      this.inflight.set(clientId, pending);
    }
    return pending;
  }

  /** The first rule whose prefix the client id falls under. */
  private ruleFor(clientId: string): ClientMetadataRule | undefined {
    const url = new URL(clientId);
    if (!fetchableUrl(url, this.policy.allowHttpLoopback)) return undefined;
    return this.policy.rules.find((rule) => underPrefix(url, rule.urlPrefix));
  }

  private async load(clientId: string, rule: ClientMetadataRule): Promise<ClientRecord> {
    const now = this.opts.now();
    try {
      const fetched = await fetchJson(clientId, {
        timeoutMs: this.opts.timeoutMs,
        maxBytes: this.opts.maxBytes,
        allowHttpLoopback: this.policy.allowHttpLoopback,
        resolve: this.opts.resolve,
      });
      const record = clientFromDocument(clientId, fetched.body, rule, this.policy);
      const ttl = fetched.noStore
        ? this.opts.minTtlSeconds
        : Math.min(
            this.opts.maxTtlSeconds,
            Math.max(this.opts.minTtlSeconds, fetched.maxAge ?? this.opts.defaultTtlSeconds),
          );
      this.remember(clientId, { outcome: record, until: now + ttl });
      return record;
    } catch (err) {
      const refusal =
        err instanceof OutboundFetchError
          ? refuse(
              FETCH_REASONS[err.kind],
              `the client metadata document at ${quote(clientId)} cannot be used: ${err.message}`,
            )
          : err instanceof InvalidClient
            ? err
            : undefined;
      if (!refusal) throw err;
      // CIMD-CACHE: a failure is not a document; it is only kept long enough that a flood of
      // requests for one broken URL is not a flood of fetches.
      this.remember(clientId, {
        outcome: refusal,
        until: now + this.opts.retryAfterFailureSeconds,
      });
      throw refusal;
    }
  }

  private remember(clientId: string, entry: Entry): void {
    this.cache.delete(clientId);
    this.cache.set(clientId, entry);
    while (this.cache.size > this.opts.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}

/**
 * CIMD-POLICY: same scheme, same port, the same host or (for `*.`) a host under the wildcard's
 * domain, and a path that continues the prefix's.
 */
export function underPrefix(url: URL, prefix: string): boolean {
  const wildcard = prefix.startsWith('https://*.');
  const pattern = new URL(wildcard ? prefix.replace('://*.', '://wildcard.') : prefix);
  if (url.protocol !== pattern.protocol || url.port !== pattern.port) return false;
  if (wildcard) {
    const domain = pattern.hostname.slice('wildcard.'.length);
    if (!url.hostname.endsWith(`.${domain}`)) return false;
  } else if (url.hostname !== pattern.hostname) {
    return false;
  }
  return url.pathname.startsWith(pattern.pathname);
}

/** A document's value as a description may show it (quote.ts), or that it is missing. */
const shown = (value: unknown): string => (value === undefined ? 'none given' : quoteValue(value));

const refuse = (reason: ReasonFor<'invalid_client'>, description: string) =>
  new InvalidClient({ reason, description });

/** CIMD-DOCUMENT: the document describes this client, authenticating with its own keys. */
function clientFromDocument(
  clientId: string,
  body: unknown,
  rule: ClientMetadataRule,
  policy: ClientMetadataPolicy,
): ClientRecord {
  const invalid = (why: string) =>
    refuse(
      'client_metadata_invalid',
      `the client metadata document at ${quote(clientId)} cannot be used: ${why}`,
    );
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('it is not a JSON object');
  const doc = body as Record<string, unknown>;
  if (doc.client_id !== clientId)
    throw refuse(
      'client_metadata_client_id_mismatch',
      `the client metadata document at ${quote(clientId)} names another client_id: it must be its own URL, exactly`,
    );
  for (const field of SECRET_FIELDS)
    if (field in doc) throw invalid(`it holds ${field}: a public document cannot hold a secret`);
  if (doc.token_endpoint_auth_method !== 'private_key_jwt')
    throw invalid(
      `token_endpoint_auth_method must be "private_key_jwt", got ${shown(doc.token_endpoint_auth_method)}`,
    );
  const alg = doc.token_endpoint_auth_signing_alg;
  if (alg !== undefined && !(typeof alg === 'string' && CLIENT_ASSERTION_ALGORITHMS.includes(alg)))
    throw invalid(`token_endpoint_auth_signing_alg ${shown(alg)} is not accepted`);
  const grants = doc.grant_types;
  if (
    grants !== undefined &&
    !(Array.isArray(grants) && grants.some((g) => g === JWT_BEARER_GRANT || g === JWT_DPOP_GRANT))
  )
    throw invalid(`grant_types does not include ${JWT_BEARER_GRANT}`);
  const hasJwks = doc.jwks !== undefined;
  const hasJwksUri = doc.jwks_uri !== undefined;
  if (hasJwks === hasJwksUri) throw invalid('it must give exactly one of jwks and jwks_uri');
  let keys: Pick<ClientRecord, 'jwks' | 'jwksUri' | 'tokenEndpointAuthSigningAlg'>;
  if (hasJwksUri) {
    const uri = doc.jwks_uri;
    if (typeof uri !== 'string' || !URL.canParse(uri)) throw invalid('jwks_uri is not a URL');
    if (!fetchableUrl(new URL(uri), policy.allowHttpLoopback))
      throw invalid('jwks_uri must be an https URL');
    keys = { jwksUri: uri };
  } else {
    const jwks = doc.jwks as { keys?: unknown } | null;
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys))
      throw invalid('jwks has no "keys" array');
    if (jwks.keys.length === 0 || jwks.keys.length > MAX_CLIENT_KEYS)
      throw invalid(`jwks must hold 1 to ${MAX_CLIENT_KEYS} keys`);
    if (jwks.keys.some((k) => typeof k !== 'object' || k === null || 'd' in k || 'k' in k))
      throw invalid('jwks must hold public keys only');
    keys = { jwks: { keys: jwks.keys as JWK[] } };
  }
  // AUTH-PRIVATE-KEY-JWT: a client that names its one algorithm is held to it.
  if (typeof alg === 'string') keys = { ...keys, tokenEndpointAuthSigningAlg: alg };
  return {
    clientId,
    secretRef: '',
    authMethod: 'private_key_jwt',
    ...keys,
    scopes: rule.scopes,
    resources: rule.resources,
    enabled: true,
    ...(rule.issuers && { issuers: rule.issuers }),
    ...(rule.tokenLifetime !== undefined && { tokenLifetime: rule.tokenLifetime }),
    ...(rule.dpopBoundRequired && { dpopBoundRequired: true }),
  };
}
