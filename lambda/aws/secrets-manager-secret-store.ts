/**
 * The SecretStore port on Secrets Manager, through the Powertools SecretsProvider cache. A secret
 * that does not match is fetched again (it may have just been rotated), but at most once per
 * interval per secret, so a client presenting wrong secrets cannot turn each request into a call.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ParameterNotFoundError } from '@aws-lambda-powertools/parameters/errors';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretStore } from '../ports.js';

export interface SecretsManagerSecretStoreOptions {
  /** Only names under this prefix are read; the function's role allows nothing else anyway. */
  readonly prefix?: string;
  /** How long a fetched secret is served from memory, in seconds. */
  readonly maxAgeSeconds?: number;
  /** The least time between two forced fetches of one secret, in milliseconds. */
  readonly refreshIntervalMs?: number;
  readonly now?: () => number;
}

export class SecretsManagerSecretStore implements SecretStore {
  private readonly provider: SecretsProvider;
  private readonly prefix: string;
  private readonly maxAge: number;
  private readonly refreshIntervalMs: number;
  private readonly now: () => number;
  /** Per secret: when it was last force-fetched, and that fetch while it runs. */
  private readonly forced = new Map<string, { at: number; fetch: Promise<string | undefined> }>();

  constructor(client: SecretsManagerClient, options: SecretsManagerSecretStoreOptions = {}) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
    this.prefix = options.prefix ?? '';
    this.maxAge = options.maxAgeSeconds ?? 60;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  async getSecret(ref: string, options: { refresh?: boolean } = {}): Promise<string | undefined> {
    if (!ref.startsWith(this.prefix)) return undefined;
    if (!options.refresh) return this.fetch(ref, false);
    const last = this.forced.get(ref);
    // Within the interval, share the last forced fetch: concurrent requests that all carry a just
    // rotated secret wait for the one fetch instead of reading the stale cache.
    if (last && this.now() - last.at < this.refreshIntervalMs) return last.fetch;
    const fetch = this.fetch(ref, true);
    this.prune();
    this.forced.set(ref, { at: this.now(), fetch });
    return fetch;
  }

  private async fetch(ref: string, forceFetch: boolean): Promise<string | undefined> {
    try {
      const value = await this.provider.get(ref, {
        maxAge: this.maxAge,
        forceFetch,
        throwOnMissing: true,
      });
      return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    } catch (err) {
      // Not caching a miss: a secret created a moment later is found on the next request.
      if (err instanceof ParameterNotFoundError) return undefined;
      throw err;
    }
  }

  /** The map holds one entry per client secret; drop the ones that no longer bound anything. */
  private prune(): void {
    if (this.forced.size < 1000) return;
    const cutoff = this.now() - this.refreshIntervalMs;
    for (const [ref, { at }] of this.forced) if (at < cutoff) this.forced.delete(ref);
  }
}
