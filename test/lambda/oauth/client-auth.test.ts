/** Client authentication against the ports: a rotated secret is found by asking the store once more. */
import { authenticateClient, secretsEqual } from '../../../lambda/oauth/client-auth.js';
import { InvalidClient } from '../../../lambda/oauth/errors.js';
import type { ClientRecord, ClientSecret, Clock, SecretStore } from '../../../lambda/ports.js';

const record: ClientRecord = {
  clientId: 'c1',
  secretRef: 'ref',
  scopes: [],
  resources: [],
  enabled: true,
};
const registry = { get: async (id: string) => (id === 'c1' ? record : undefined) };
const clock: Clock = { now: () => 1_000_000 };

/** A store that, like a cache, keeps serving the old value until asked for a fresh one. */
class CachingStore implements SecretStore {
  fresh = 0;
  constructor(
    private cached: string,
    private current: string,
  ) {}
  async getClientSecret(_ref: string, options: { refresh?: boolean } = {}) {
    if (options.refresh) {
      this.fresh++;
      this.cached = this.current;
    }
    return { current: this.cached };
  }
}

test('a secret rotated behind a cache is accepted after one fresh read', async () => {
  const store = new CachingStore('old-secret', 'new-secret');
  await expect(
    authenticateClient(
      { method: 'client_secret_post', clientId: 'c1', clientSecret: 'new-secret' },
      registry,
      store,
      clock,
    ),
  ).resolves.toBe(record);
  expect(store.fresh).toBe(1);
});

test('a matching cached secret needs no fresh read', async () => {
  const store = new CachingStore('s3cret-value', 's3cret-value');
  await authenticateClient(
    { method: 'client_secret_post', clientId: 'c1', clientSecret: 's3cret-value' },
    registry,
    store,
    clock,
  );
  expect(store.fresh).toBe(0);
});

test('a wrong secret is InvalidClient after the fresh read, marked Basic when Basic was used', async () => {
  const store = new CachingStore('right', 'right');
  const err = await authenticateClient(
    { method: 'client_secret_basic', clientId: 'c1', clientSecret: 'wrong' },
    registry,
    store,
    clock,
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidClient);
  expect(err).toMatchObject({ reason: 'secret_mismatch', usedBasic: true });
  expect(store.fresh).toBe(1);
});

test('a client whose secret is missing from the store cannot authenticate', async () => {
  const store: SecretStore = { getClientSecret: async () => undefined };
  const err = await authenticateClient(
    { method: 'client_secret_post', clientId: 'c1', clientSecret: 'x' },
    registry,
    store,
    clock,
  ).catch((e: unknown) => e);
  expect(err).toMatchObject({
    error: 'invalid_client',
    reason: 'secret_not_found',
    description: 'client authentication failed',
  });
});

test('secretsEqual compares whole values of any length', () => {
  expect(secretsEqual('abc', 'abc')).toBe(true);
  expect(secretsEqual('abc', 'abcd')).toBe(false);
  expect(secretsEqual('abc', 'abC')).toBe(false);
  expect(secretsEqual('', 'a')).toBe(false);
  expect(secretsEqual('ünïcødé', 'ünïcødé')).toBe(true);
});

test('unknown and disabled clients are told apart by reason, never by description', async () => {
  const disabled = { ...record, enabled: false };
  const store = new CachingStore('right', 'right');
  const refusal = (clientId: string, reg = registry) =>
    authenticateClient(
      { method: 'client_secret_post', clientId, clientSecret: 'right' },
      reg,
      store,
      clock,
    ).catch((e: unknown) => e);
  expect(await refusal('nobody')).toMatchObject({
    reason: 'client_unknown',
    description: 'client authentication failed',
    usedBasic: false,
  });
  expect(await refusal('c1', { get: async () => disabled })).toMatchObject({
    reason: 'client_disabled',
    description: 'client authentication failed',
  });
});

describe('AUTH-FAILURE: an unknown or disabled client costs what a wrong secret costs', () => {
  const disabled: ClientRecord = { ...record, clientId: 'off', enabled: false };
  const both = { get: async (id: string) => ({ c1: record, off: disabled })[id] };

  async function comparisonsFor(clientId: string) {
    const seen: Array<[number, number]> = [];
    const compare = (expected: string, presented: string) => {
      seen.push([expected.length, presented.length]);
      return secretsEqual(expected, presented);
    };
    const presented = 'a-wrong-secret-of-43-characters-xxxxxxxxxxx';
    const err = await authenticateClient(
      { method: 'client_secret_post', clientId, clientSecret: presented },
      both,
      new CachingStore(
        'the-right-secret-also-43-characters-yyyyyyy',
        'the-right-secret-also-43-characters-yyyyyyy',
      ),
      clock,
      compare,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidClient);
    return seen;
  }

  test('the same comparisons, of the same lengths, for unknown, disabled and wrong-secret clients', async () => {
    const wrong = await comparisonsFor('c1');
    // Two reads of the store, each compared with the current secret and the previous or a stand-in.
    expect(wrong).toEqual(Array.from({ length: 4 }, () => [43, 43]));
    expect(await comparisonsFor('nobody')).toEqual(wrong);
    expect(await comparisonsFor('off')).toEqual(wrong);
  });
});

describe('AUTH-SECRET: a rotated secret stays valid for its grace period, then only the new one is', () => {
  const stored: ClientSecret = {
    current: 'the-new-secret-0123456789',
    previous: { secret: 'the-old-secret-0123456789', until: 2_000 },
  };
  const store: SecretStore = { getClientSecret: async () => stored };
  const at = (now: number, clientSecret: string, compare = secretsEqual) =>
    authenticateClient(
      { method: 'client_secret_post', clientId: 'c1', clientSecret },
      registry,
      store,
      { now: () => now },
      compare,
    ).catch((e: unknown) => e);

  test('both secrets authenticate before the grace period ends; at its end only the new one', async () => {
    expect(await at(1_000, 'the-new-secret-0123456789')).toBe(record);
    expect(await at(1_999, 'the-old-secret-0123456789')).toBe(record);
    expect(await at(2_000, 'the-old-secret-0123456789')).toMatchObject({
      error: 'invalid_client',
      reason: 'secret_mismatch',
    });
    expect(await at(2_000, 'the-new-secret-0123456789')).toBe(record);
  });

  test('the same comparisons whether or not a grace period runs, and whichever secret is right', async () => {
    const count = async (now: number, presented: string) => {
      let n = 0;
      await at(now, presented, (a, b) => (n++, secretsEqual(a, b)));
      return n;
    };
    // A match stops after one read (two comparisons); a refusal reads twice (four).
    expect(await count(1_000, 'the-new-secret-0123456789')).toBe(2);
    expect(await count(1_000, 'the-old-secret-0123456789')).toBe(2);
    expect(await count(1_000, 'a-wrong-secret-0123456789')).toBe(4);
    expect(await count(3_000, 'a-wrong-secret-0123456789')).toBe(4);
  });
});
