/** The warm-container cache in front of the registry: hits and misses alike, for a short while (AUTH-FAILURE). */
import { CachedClientRegistry } from '../../lambda/aws/cached-client-registry.js';
import type { ClientRecord, ClientRegistry } from '../../lambda/ports.js';

const record = (clientId: string, enabled = true): ClientRecord => ({
  clientId,
  secretRef: 'r',
  scopes: ['read'],
  resources: ['https://a/'],
  enabled,
});

function counting(records: Map<string, ClientRecord>) {
  const calls: string[] = [];
  const registry: ClientRegistry = {
    get: async (id) => {
      calls.push(id);
      return records.get(id);
    },
  };
  return { registry, calls };
}

test('a found client is served from memory until the TTL passes, then read again', async () => {
  const records = new Map([['a', record('a')]]);
  const { registry, calls } = counting(records);
  let now = 0;
  const cached = new CachedClientRegistry(registry, 10_000, () => now);
  expect(await cached.get('a')).toEqual(record('a'));
  records.set('a', record('a', false));
  now = 9_999;
  expect((await cached.get('a'))?.enabled).toBe(true);
  now = 10_000;
  expect((await cached.get('a'))?.enabled).toBe(false);
  expect(calls).toEqual(['a', 'a']);
});

test('a miss is cached like a hit, so an unknown id answers as fast as a known one', async () => {
  const records = new Map<string, ClientRecord>();
  const { registry, calls } = counting(records);
  let now = 0;
  const cached = new CachedClientRegistry(registry, 10_000, () => now);
  expect(await cached.get('new')).toBeUndefined();
  expect(await cached.get('new')).toBeUndefined();
  expect(calls).toEqual(['new']);
  // A client registered meanwhile works once the TTL has passed.
  records.set('new', record('new'));
  now = 10_000;
  expect(await cached.get('new')).toEqual(record('new'));
  expect(calls).toEqual(['new', 'new']);
});

test('a flood of made-up ids cannot grow the cache past maxEntries', async () => {
  const { registry } = counting(new Map());
  const cached = new CachedClientRegistry(registry, 10_000, () => 0, 100);
  for (let i = 0; i < 1_000; i++) await cached.get(`made-up-${i}`);
  expect((cached as unknown as { cache: Map<string, unknown> }).cache.size).toBe(100);
});

test('the cache holds at most maxEntries clients, dropping the oldest', async () => {
  const records = new Map(['a', 'b', 'c'].map((id) => [id, record(id)]));
  const { registry, calls } = counting(records);
  const cached = new CachedClientRegistry(registry, 10_000, () => 0, 2);
  for (const id of ['a', 'b', 'c', 'b', 'c', 'a']) await cached.get(id);
  expect(calls).toEqual(['a', 'b', 'c', 'a']);
});
