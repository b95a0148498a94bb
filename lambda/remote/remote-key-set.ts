/**
 * A published JWKS, fetched when needed and cached (JAG-JWKS-FETCH, AUTH-PRIVATE-KEY-JWT): refetched
 * on an unknown `kid` at most once per cooldown so a flood of unknown kids is not a flood of
 * fetches, served stale while a refresh fails, and no longer trusted once too old. Where the JWKS
 * comes from, and what a failure to get one means, is the owner's: an IdP's is fetched from the
 * operator's configuration and its failure is a 503, a client's is the client's and its failure
 * refuses that client.
 */
import { createLocalJWKSet, errors as joseErrors } from 'jose';
import type { KeyResolver } from '../ports.js';
import { usableKeys } from '../oauth/usable-keys.js';

export interface KeySetLimits {
  /** After a fetch, wait at least this long before fetching again for an unknown kid. */
  readonly cooldownMs: number;
  /** Refresh a cached key set this old on its next use. */
  readonly maxAgeMs: number;
  /**
   * After a failed fetch with nothing cached, fail at once for this long instead of fetching
   * again: a flood of requests for a down host is not a flood of fetches that each wait the timeout.
   */
  readonly retryAfterFailureMs: number;
  /**
   * Stop trusting a cached key set this old while every refresh fails: a key its owner revoked
   * must not stay trusted for as long as its JWKS endpoint is down.
   */
  readonly maxStaleMs: number;
  /** A JWKS with more keys than this is refused: every request would otherwise scan them all. */
  readonly maxKeys: number;
  readonly now: () => number;
}

export interface KeySetSource {
  /** Fetches the JWKS document (parsed JSON); rejects when it cannot. */
  readonly load: () => Promise<unknown>;
  /** The JWS algorithms accepted with these keys. */
  readonly algorithms: readonly string[];
  /** How a key without `alg` is pinned where several algorithms would fit (usable-keys.ts). */
  readonly defaults?: { readonly rsaWithoutAlg?: string };
  /** What a failure to get any key set is answered with. */
  readonly unavailable: (cause?: unknown) => Error;
  readonly onFetchError?: (error: unknown) => void;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class RemoteKeySet {
  private keys: LocalSet | undefined;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private failedAt = -Infinity;
  private inflight: Promise<LocalSet> | undefined;

  constructor(
    private readonly source: KeySetSource,
    private readonly limits: KeySetLimits,
  ) {}

  readonly resolve: KeyResolver = async (header, token) => {
    // A stale set keeps serving while it is refreshed in the background: no request waits for a
    // routine refresh, and while the owner is failing, not every request starts one.
    let keys = this.keys;
    const age = this.limits.now() - this.fetchedAt;
    if (keys && age > this.limits.maxStaleMs) {
      // Too old to trust any longer: this request waits for a fresh set, or fails.
      this.keys = keys = undefined;
    }
    if (keys && age > this.limits.maxAgeMs && !this.coolingDown())
      void this.refresh().catch(() => undefined);
    keys ??= await this.refresh();
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.coolingDown()) throw err;
      // An unknown kid may be a key the owner has just rotated in.
      keys = await this.refresh();
      return await keys(header, token);
    }
  };

  /** Fetch now (deduplicated); fall back to the cached set if the fetch fails and one exists. */
  refresh(): Promise<LocalSet> {
    if (
      !this.keys &&
      !this.inflight &&
      this.limits.now() - this.failedAt < this.limits.retryAfterFailureMs
    ) {
      return Promise.reject(this.source.unavailable());
    }
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private coolingDown(): boolean {
    return this.limits.now() - this.attemptedAt < this.limits.cooldownMs;
  }

  private async fetchKeys(): Promise<LocalSet> {
    this.attemptedAt = this.limits.now();
    try {
      const body = await this.source.load();
      const keys = createLocalJWKSet({
        keys: await usableKeys(
          body,
          this.source.algorithms,
          this.limits.maxKeys,
          this.source.defaults,
        ),
      });
      this.keys = keys;
      this.fetchedAt = this.limits.now();
      return keys;
    } catch (err) {
      this.source.onFetchError?.(err);
      if (this.keys) return this.keys;
      this.failedAt = this.limits.now();
      throw this.source.unavailable(err);
    }
  }
}
