/**
 * Trusted issuers' public keys, fetched from their `jwks_uri` (JAG-JWKS-FETCH): with a timeout, cached,
 * refetched on an unknown `kid` at most once per cooldown so a flood of unknown kids is not a flood
 * of fetches, and served stale while a refresh fails. A fetch that fails with nothing cached is
 * TemporarilyUnavailable (503), never invalid_grant: the client did nothing wrong.
 */
import { createLocalJWKSet, errors as joseErrors, importJWK, type JWK } from 'jose';
import type { TrustedIssuer } from '../config.js';
import { readBounded } from '../http/bounded-body.js';
import type { IssuerKeys, KeyResolver } from '../ports.js';
import { TemporarilyUnavailable } from '../oauth/errors.js';
import { jwkRsaExponentAcceptable } from '../oauth/jws-verify.js';

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
    const age = this.opts.now() - this.fetchedAt;
    if (keys && age > this.opts.maxStaleMs) {
      // Too old to trust any longer: this request waits for a fresh set, or is answered 503.
      this.keys = keys = undefined;
    }
    if (keys && age > this.opts.maxAgeMs && !this.coolingDown())
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
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`JWKS answered HTTP ${res.status}`);
      }
      const body = JSON.parse(await readCapped(res, this.opts.maxJwksBytes)) as unknown;
      const keys = createLocalJWKSet({
        keys: await usableKeys(body, this.issuer.algorithms, this.opts.maxKeys),
      });
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
    return new TemporarilyUnavailable({
      reason: 'jwks_unavailable',
      description: `the JWKS of ${this.issuer.issuer} cannot be fetched; retry later`,
      cause,
    });
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
      maxStaleMs: options.maxStaleMs ?? 60 * 60_000,
      maxJwksBytes: options.maxJwksBytes ?? 256 * 1024,
      maxKeys: options.maxKeys ?? 64,
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

/** The body as text, refusing (and cancelling) it as soon as it passes `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const bytes = await readBounded(res, max);
  if (bytes === undefined) throw new Error(`JWKS is larger than ${max} bytes`);
  return bytes === null ? '' : Buffer.from(bytes).toString('utf8');
}

/** Which key types each accepted JWS algorithm verifies with. */
const ALG_KEY: Readonly<Record<string, { kty: string; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
};

const fits = (alg: string, jwk: JWK): boolean => {
  const want = ALG_KEY[alg];
  return !!want && want.kty === jwk.kty && (!want.crv || want.crv === jwk.crv);
};

/**
 * The keys of a fetched JWKS that can verify an assertion, each pinned to one algorithm (RFC 8725
 * §3.1: one key, one algorithm). A key without `alg` is pinned to the issuer's only accepted
 * algorithm for its type, and dropped when there are several to choose from. Each key is imported
 * here, once per fetch, so a malformed key (an off-curve point, a truncated modulus, an RSA
 * exponent out of bounds) is dropped instead of failing a request later. A set that is not a JWKS,
 * or has more than `maxKeys` keys, is refused whole.
 */
async function usableKeys(
  body: unknown,
  algorithms: readonly string[],
  maxKeys: number,
): Promise<JWK[]> {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('JWKS has no "keys" array');
  if (keys.length > maxKeys) throw new Error(`JWKS has ${keys.length} keys, more than ${maxKeys}`);
  const usable: JWK[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) continue;
    const jwk = key as JWK;
    // A private key published by mistake is not used: only public members are read.
    if (jwk.d !== undefined) continue;
    // JAG-SIGNATURE: an RSA exponent past 32 bits would make every verification with the key
    // cost many times a normal one (jws-verify.ts checks it again, whatever the resolver).
    if (jwk.kty === 'RSA' && !jwkRsaExponentAcceptable(jwk.e)) continue;
    const candidates = algorithms.filter((alg) => fits(alg, jwk));
    const alg = jwk.alg ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (alg === undefined || !candidates.includes(alg)) continue;
    try {
      await importJWK({ ...jwk, alg }, alg);
    } catch {
      continue;
    }
    usable.push({ ...jwk, alg });
  }
  return usable;
}
