/**
 * The SecretStore port on Secrets Manager, with a cache per container. A secret that does not match
 * is fetched again (it may have just been rotated), but at most once per interval per secret, so a
 * client presenting wrong secrets cannot turn each request into a call.
 *
 * A rotation with a grace period (AUTH-SECRET) is Secrets Manager's own version staging: the new
 * value is AWSCURRENT, the value it replaced AWSPREVIOUS, and the grace period's end is a staging
 * label on the AWSCURRENT version, `xaa-previous-until-<epoch seconds>`, written in the same
 * PutSecretValue call as the value (so the two can never disagree). Only while that label names a
 * time still to come is AWSPREVIOUS read at all. The secret's value stays the bare secret, and the
 * operator rotates without ever reading a secret back (the operator policy has no GetSecretValue).
 *
 * Not the Powertools SecretsProvider: it returns a secret's value but not its version stages, and
 * the stages are where the grace period is.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ClientSecret, SecretStore } from '../ports.js';

/** The staging label that carries a rotation's grace period, followed by its end (epoch seconds). */
export const PREVIOUS_UNTIL_LABEL = 'xaa-previous-until-';

/** The latest grace-period end named by a version's labels, if any. */
export function previousUntil(stages: readonly string[] | undefined): number | undefined {
  let until: number | undefined;
  for (const stage of stages ?? []) {
    if (!stage.startsWith(PREVIOUS_UNTIL_LABEL)) continue;
    const value = stage.slice(PREVIOUS_UNTIL_LABEL.length);
    if (/^\d{1,12}$/.test(value)) until = Math.max(until ?? 0, Number(value));
  }
  return until;
}

export interface SecretsManagerSecretStoreOptions {
  /** Only names under this prefix are read; the function's role allows nothing else anyway. */
  readonly prefix?: string;
  /** How long a fetched secret is served from memory, in seconds. */
  readonly maxAgeSeconds?: number;
  /** The least time between two forced fetches of one secret, in milliseconds. */
  readonly refreshIntervalMs?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export class SecretsManagerSecretStore implements SecretStore {
  private readonly prefix: string;
  private readonly maxAgeMs: number;
  private readonly refreshIntervalMs: number;
  private readonly now: () => number;
  /** Per secret: what was fetched last, and when. Misses are not kept. */
  private readonly cache = new Map<string, { at: number; value: ClientSecret }>();
  /** Per secret: the fetch under way, shared by concurrent readers. */
  private readonly loading = new Map<string, Promise<ClientSecret | undefined>>();
  /** Per secret: when it was last force-fetched, and that fetch while it runs. */
  private readonly forced = new Map<
    string,
    { at: number; fetch: Promise<ClientSecret | undefined> }
  >();

  constructor(
    private readonly client: SecretsManagerClient,
    options: SecretsManagerSecretStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** The current value alone (a secret that is not a client's, such as a key). */
  async getSecret(ref: string, options: { refresh?: boolean } = {}): Promise<string | undefined> {
    return (await this.getClientSecret(ref, options))?.current;
  }

  async getClientSecret(
    ref: string,
    options: { refresh?: boolean } = {},
  ): Promise<ClientSecret | undefined> {
    if (!ref.startsWith(this.prefix)) return undefined;
    if (!options.refresh) {
      const cached = this.cache.get(ref);
      if (cached && this.now() - cached.at < this.maxAgeMs) return cached.value;
      return this.load(ref);
    }
    const last = this.forced.get(ref);
    // Within the interval, share the last forced fetch: concurrent requests that all carry a just
    // rotated secret wait for the one fetch instead of reading the stale cache.
    if (last && this.now() - last.at < this.refreshIntervalMs) return last.fetch;
    const fetch = this.fetch(ref);
    this.prune();
    this.forced.set(ref, { at: this.now(), fetch });
    return fetch;
  }

  private load(ref: string): Promise<ClientSecret | undefined> {
    let loading = this.loading.get(ref);
    if (!loading) {
      loading = this.fetch(ref).finally(() => this.loading.delete(ref));
      this.loading.set(ref, loading);
    }
    return loading;
  }

  private async fetch(ref: string): Promise<ClientSecret | undefined> {
    const current = await this.version(ref, 'AWSCURRENT');
    if (!current) {
      // Not caching a miss: a secret created a moment later is found on the next request.
      this.cache.delete(ref);
      return undefined;
    }
    const until = previousUntil(current.stages);
    const previous =
      until !== undefined && until * 1000 > this.now()
        ? await this.version(ref, 'AWSPREVIOUS')
        : undefined;
    const value: ClientSecret = {
      current: current.value,
      ...(previous && until !== undefined && { previous: { secret: previous.value, until } }),
    };
    this.cache.set(ref, { at: this.now(), value });
    return value;
  }

  private async version(
    ref: string,
    stage: 'AWSCURRENT' | 'AWSPREVIOUS',
  ): Promise<{ value: string; stages: string[] } | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({ SecretId: ref, VersionStage: stage }),
      );
      const value =
        out.SecretString ??
        (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
      return value === undefined ? undefined : { value, stages: out.VersionStages ?? [] };
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  }

  /** The maps hold one entry per client secret; drop the ones that no longer serve anything. */
  private prune(): void {
    if (this.forced.size >= 1000) {
      const cutoff = this.now() - this.refreshIntervalMs;
      for (const [ref, { at }] of this.forced) if (at < cutoff) this.forced.delete(ref);
    }
    if (this.cache.size >= 10_000) {
      const cutoff = this.now() - this.maxAgeMs;
      for (const [ref, { at }] of this.cache) if (at < cutoff) this.cache.delete(ref);
    }
  }
}
