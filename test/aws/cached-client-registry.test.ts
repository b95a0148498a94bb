/** The warm-container cache in front of the registry: hits for a short while, misses never. */
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

test('a miss is never cached: a client registered a moment later works at once', async () => {
  const records = new Map<string, ClientRecord>();
  const { registry, calls } = counting(records);
  const cached = new CachedClientRegistry(registry, 10_000, () => 0);
  expect(await cached.get('new')).toBeUndefined();
  records.set('new', record('new'));
  expect(await cached.get('new')).toEqual(record('new'));
  expect(calls).toEqual(['new', 'new']);
});

test('the cache holds at most maxEntries clients, dropping the oldest', async () => {
  const records = new Map(['a', 'b', 'c'].map((id) => [id, record(id)]));
  const { registry, calls } = counting(records);
  const cached = new CachedClientRegistry(registry, 10_000, () => 0, 2);
  for (const id of ['a', 'b', 'c', 'b', 'c', 'a']) await cached.get(id);
  expect(calls).toEqual(['a', 'b', 'c', 'a']);
});
