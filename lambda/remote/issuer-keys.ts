/**
 * Trusted issuers' public keys, fetched from their `jwks_uri` (JAG-JWKS-FETCH): with a timeout,
 * cached and refreshed as lambda/remote/remote-key-set.ts does. A fetch that fails with nothing
 * cached is TemporarilyUnavailable (503), never invalid_grant: the client did nothing wrong.
 */
import type { TrustedIssuer } from '../config.js';
import { readBounded } from '../http/bounded-body.js';
import type { IssuerKeys, KeyResolver } from '../ports.js';
import { TemporarilyUnavailable } from '../oauth/errors.js';
import { RemoteKeySet } from './remote-key-set.js';

export interface IssuerKeysOptions {
  /** Give up on a JWKS fetch after this many milliseconds. */
  readonly timeoutMs?: number;
  /** After a fetch, wait at least this long before fetching again for an unknown kid. */
  readonly cooldownMs?: number;
  /** Refresh a cached key set this old on its next use. */
  readonly maxAgeMs?: number;
  /**
   * After a failed fetch with nothing cached, answer 503 at once for this long instead of fetching
   * again: a flood of requests for a down IdP is not a flood of fetches that each wait the timeout.
   */
  readonly retryAfterFailureMs?: number;
  /**
   * Stop trusting a cached key set this old while every refresh fails: a key the issuer revoked
   * must not stay trusted for as long as its JWKS endpoint is down.
   */
  readonly maxStaleMs?: number;
  /** A JWKS body larger than this is refused unread: parsing is bounded, not just the fetch. */
  readonly maxJwksBytes?: number;
  /** A JWKS with more keys than this is refused: every request would otherwise scan them all. */
  readonly maxKeys?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly onFetchError?: (issuer: string, error: unknown) => void;
}

/** The limits every fetched JWKS is held to, an IdP's or a client's. */
export const JWKS_LIMITS = {
  timeoutMs: 2000,
  cooldownMs: 30_000,
  maxAgeMs: 10 * 60_000,
  retryAfterFailureMs: 2_000,
  maxStaleMs: 60 * 60_000,
  maxJwksBytes: 256 * 1024,
  maxKeys: 64,
} as const;

export class RemoteIssuerKeys implements IssuerKeys {
  private readonly sets: Map<string, RemoteKeySet>;

  constructor(issuers: readonly TrustedIssuer[], options: IssuerKeysOptions = {}) {
    const limits = {
      cooldownMs: options.cooldownMs ?? JWKS_LIMITS.cooldownMs,
      maxAgeMs: options.maxAgeMs ?? JWKS_LIMITS.maxAgeMs,
      retryAfterFailureMs: options.retryAfterFailureMs ?? JWKS_LIMITS.retryAfterFailureMs,
      maxStaleMs: options.maxStaleMs ?? JWKS_LIMITS.maxStaleMs,
      maxKeys: options.maxKeys ?? JWKS_LIMITS.maxKeys,
      now: options.now ?? Date.now,
    };
    const timeoutMs = options.timeoutMs ?? JWKS_LIMITS.timeoutMs;
    const maxBytes = options.maxJwksBytes ?? JWKS_LIMITS.maxJwksBytes;
    const doFetch = options.fetch ?? globalThis.fetch;
    this.sets = new Map(
      issuers.map((t) => [
        t.issuer,
        new RemoteKeySet(
          {
            load: () => fetchJwks(doFetch, t.jwksUri, timeoutMs, maxBytes),
            algorithms: t.algorithms,
            unavailable: (cause) =>
              new TemporarilyUnavailable({
                reason: 'jwks_unavailable',
                description: `the JWKS of ${t.issuer} cannot be fetched; retry later`,
                cause,
              }),
            onFetchError: options.onFetchError && ((err) => options.onFetchError!(t.issuer, err)),
          },
          limits,
        ),
      ]),
    );
  }

  resolverFor(issuer: string): KeyResolver {
    const set = this.sets.get(issuer);
    if (!set) throw new Error(`no key set for ${issuer}: only trusted issuers have one`);
    return set.resolve;
  }

  /**
   * Start every issuer's first fetch now, so the first request does not wait for it. Never rejects:
   * an issuer that cannot be reached is reported through onFetchError and fetched again on demand.
   */
  warm(): Promise<void> {
    return Promise.allSettled([...this.sets.values()].map((s) => s.refresh())).then(
      () => undefined,
    );
  }
}

async function fetchJwks(
  doFetch: typeof fetch,
  jwksUri: string,
  timeoutMs: number,
  max: number,
): Promise<unknown> {
  const res = await doFetch(jwksUri, {
    headers: { accept: 'application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`JWKS answered HTTP ${res.status}`);
  }
  const bytes = await readBounded(res, max);
  if (bytes === undefined) throw new Error(`JWKS is larger than ${max} bytes`);
  return JSON.parse(bytes === null ? '' : Buffer.from(bytes).toString('utf8')) as unknown;
}
