/**
 * Trusted issuers' public keys, fetched from their `jwks_uri` (SPEC §5.3): with a timeout, cached,
 * refetched on an unknown `kid` at most once per cooldown so a flood of unknown kids is not a flood
 * of fetches, and served stale while a refresh fails. A fetch that fails with nothing cached is
 * TemporarilyUnavailable (503), never invalid_grant: the client did nothing wrong.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet } from 'jose';
import type { TrustedIssuer } from '../config.js';
import type { IssuerKeys, KeyResolver } from '../ports.js';
import { TemporarilyUnavailable } from '../oauth/errors.js';

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
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly onFetchError?: (issuer: string, error: unknown) => void;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

class IssuerKeySet {
  private keys: LocalSet | undefined;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private failedAt = -Infinity;
  private inflight: Promise<LocalSet> | undefined;

  constructor(
    private readonly issuer: TrustedIssuer,
    private readonly opts: Required<Omit<IssuerKeysOptions, 'onFetchError'>> &
      Pick<IssuerKeysOptions, 'onFetchError'>,
  ) {}

  readonly resolve: KeyResolver = async (header, token) => {
    // A stale set keeps serving while it is refreshed in the background: no request waits for a
    // routine refresh, and while the issuer is failing, not every request starts one.
    let keys = this.keys;
    if (keys && this.opts.now() - this.fetchedAt > this.opts.maxAgeMs && !this.coolingDown())
      void this.refresh().catch(() => undefined);
    keys ??= await this.refresh();
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.coolingDown()) throw err;
      // An unknown kid may be a key the issuer has just rotated in.
      keys = await this.refresh();
      return await keys(header, token);
    }
  };

  /** Fetch now (deduplicated); fall back to the cached set if the fetch fails and one exists. */
  refresh(): Promise<LocalSet> {
    if (
      !this.keys &&
      !this.inflight &&
      this.opts.now() - this.failedAt < this.opts.retryAfterFailureMs
    ) {
      return Promise.reject(this.unavailable());
    }
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private coolingDown(): boolean {
    return this.opts.now() - this.attemptedAt < this.opts.cooldownMs;
  }

  private async fetchKeys(): Promise<LocalSet> {
    this.attemptedAt = this.opts.now();
    try {
      const res = await this.opts.fetch(this.issuer.jwksUri, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      if (res.status !== 200) throw new Error(`JWKS answered HTTP ${res.status}`);
      const body = (await res.json()) as JSONWebKeySet;
      const keys = createLocalJWKSet(body); // validates the {"keys": [...]} shape
      this.keys = keys;
      this.fetchedAt = this.opts.now();
      return keys;
    } catch (err) {
      this.opts.onFetchError?.(this.issuer.issuer, err);
      if (this.keys) return this.keys;
      this.failedAt = this.opts.now();
      throw this.unavailable(err);
    }
  }

  private unavailable(cause?: unknown): TemporarilyUnavailable {
    return new TemporarilyUnavailable(
      `the JWKS of ${this.issuer.issuer} cannot be fetched; retry later`,
      cause,
    );
  }
}

export class RemoteIssuerKeys implements IssuerKeys {
  private readonly sets: Map<string, IssuerKeySet>;

  constructor(issuers: readonly TrustedIssuer[], options: IssuerKeysOptions = {}) {
    const opts = {
      timeoutMs: options.timeoutMs ?? 2000,
      cooldownMs: options.cooldownMs ?? 30_000,
      maxAgeMs: options.maxAgeMs ?? 10 * 60_000,
      retryAfterFailureMs: options.retryAfterFailureMs ?? 2_000,
      fetch: options.fetch ?? globalThis.fetch,
      now: options.now ?? Date.now,
      onFetchError: options.onFetchError,
    };
    this.sets = new Map(issuers.map((t) => [t.issuer, new IssuerKeySet(t, opts)]));
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
