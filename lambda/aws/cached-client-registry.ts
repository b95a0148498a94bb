/**
 * A short-lived in-memory cache in front of a ClientRegistry, for warm Lambda containers. Misses
 * are cached like hits (AUTH-FAILURE): were only registered clients answered from memory, the
 * time to answer would tell a caller which client ids exist. A change to the registry — a client
 * added, disabled or removed — takes effect within the TTL.
 */
import type { ClientRecord, ClientRegistry } from '../ports.js';

export class CachedClientRegistry implements ClientRegistry {
  private readonly cache = new Map<string, { record: ClientRecord | undefined; expires: number }>();

  constructor(
    private readonly registry: ClientRegistry,
    private readonly ttlMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  async get(clientId: string): Promise<ClientRecord | undefined> {
    const hit = this.cache.get(clientId);
    if (hit && hit.expires > this.now()) return hit.record;
    this.cache.delete(clientId);
    const record = await this.registry.get(clientId);
    // Oldest first out (Map keeps insertion order): a flood of made-up ids cannot grow the cache.
    if (this.cache.size >= this.maxEntries)
      this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(clientId, { record, expires: this.now() + this.ttlMs });
    return record;
  }
}
