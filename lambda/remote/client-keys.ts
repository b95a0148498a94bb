/**
 * The keys clients publish at their `jwks_uri` (AUTH-PRIVATE-KEY-JWT): fetched through the outbound
 * guard (the URL is the client's, not the operator's), cached under the same limits as an IdP's
 * JWKS, for a bounded number of URLs. A client whose keys cannot be fetched cannot authenticate:
 * `invalid_client`, since the fault is on the client's side.
 */
import { CLIENT_KEY_DEFAULTS, MAX_CLIENT_KEYS } from '../oauth/client-assertion.js';
import { InvalidClient, AUTHENTICATION_FAILED } from '../oauth/errors.js';
import type { ClientKeys, KeyResolver } from '../ports.js';
import { JWKS_LIMITS } from './issuer-keys.js';
import { CLIENT_FETCH_TIMEOUT_MS, fetchJson, type OutboundFetchOptions } from './outbound-fetch.js';
import { RemoteKeySet } from './remote-key-set.js';

export interface ClientKeysOptions {
  /** CIMD-DEV-HTTP: also fetch `http://localhost` key sets. */
  readonly allowHttpLoopback?: boolean;
  /** The most key sets held at once; the least recently used goes first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
  readonly resolve?: OutboundFetchOptions['resolve'];
  readonly onFetchError?: (jwksUri: string, error: unknown) => void;
}

/**
 * A client's key set is a few keys, not an IdP's rotation history: with up to `maxEntries` sets
 * cached, each held to this size keeps the cache within a few megabytes whatever clients publish.
 */
const MAX_CLIENT_JWKS_BYTES = 16 * 1024;

export class RemoteClientKeys implements ClientKeys {
  private readonly sets = new Map<string, RemoteKeySet>();

  constructor(private readonly options: ClientKeysOptions = {}) {}

  resolverFor(jwksUri: string, algorithms: readonly string[]): KeyResolver {
    const id = JSON.stringify([jwksUri, algorithms]);
    let set = this.sets.get(id);
    if (set) {
      this.sets.delete(id);
    } else {
      const { allowHttpLoopback, resolve, onFetchError } = this.options;
      set = new RemoteKeySet(
        {
          load: async () =>
            (
              await fetchJson(jwksUri, {
                timeoutMs: CLIENT_FETCH_TIMEOUT_MS,
                maxBytes: MAX_CLIENT_JWKS_BYTES,
                allowHttpLoopback,
                resolve,
              })
            ).body,
          algorithms,
          defaults: CLIENT_KEY_DEFAULTS,
          unavailable: (cause) =>
            new InvalidClient({
              reason: 'client_keys_unavailable',
              description: AUTHENTICATION_FAILED,
              logDetail: cause instanceof Error ? cause.message : undefined,
            }),
          onFetchError: onFetchError && ((err) => onFetchError(jwksUri, err)),
        },
        { ...JWKS_LIMITS, maxKeys: MAX_CLIENT_KEYS, now: this.options.now ?? Date.now },
      );
    }
    this.sets.set(id, set);
    const max = this.options.maxEntries ?? 1000;
    while (this.sets.size > max) this.sets.delete(this.sets.keys().next().value as string);
    return set.resolve;
  }
}
