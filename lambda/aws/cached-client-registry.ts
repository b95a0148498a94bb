/**
 * A short-lived in-memory cache in front of a ClientRegistry, for warm Lambda containers. Only hits
 * are cached: a client registered a moment ago works at once. A change to an existing client
 * (disabled, removed) takes effect within the TTL.
 */
import type { ClientRecord, ClientRegistry } from '../ports.js';

export class CachedClientRegistry implements ClientRegistry {
  private readonly cache = new Map<string, { record: ClientRecord; expires: number }>();

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
    if (record) {
      // Oldest first out: Map keeps insertion order.
      if (this.cache.size >= this.maxEntries)
        this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(clientId, { record, expires: this.now() + this.ttlMs });
    }
    return record;
  }
}
