/**
 * One conformance suite per port: the rules every adapter family keeps, whatever it stores in.
 * test/ports/local.test.ts runs them against the local store, test/ports/aws.moto.test.ts against
 * the DynamoDB and Secrets Manager adapters on moto. A family passes the same tests, or it does
 * not satisfy the port.
 */
import type { ClientRecordStore, WritableSecretStore } from '../../local/admin/client-admin.js';
import { authenticateClient } from '../../lambda/oauth/client-auth.js';
import type { ClientRecord, ClientRegistry, ReplayGuard, SecretStore } from '../../lambda/ports.js';

/** A clock the suite moves: the family's adapters must read the time from it. */
export class SuiteClock {
  t = Math.floor(Date.now() / 1000);
  now = (): number => this.t;
}

/** What a family hands each suite: the adapter, and a way to make its storage fail once. */
export interface Family<Port> {
  readonly port: Port;
  /** The next write to storage fails (a full disk, a dropped connection, a throttled call). */
  failNextWrite(): void;
  close(): Promise<void>;
}

export type FamilyFactory<Port> = (clock: SuiteClock) => Promise<Family<Port>>;

let serial = 0;
const unique = (prefix: string) =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(serial++).toString(36)}`;

function withFamily<Port>(make: FamilyFactory<Port>) {
  const clock = new SuiteClock();
  let family: Family<Port>;
  beforeAll(async () => {
    family = await make(clock);
  });
  afterAll(() => family?.close());
  return { clock, family: () => family, port: () => family.port };
}

export function replayGuardConformance(name: string, make: FamilyFactory<ReplayGuard>): void {
  describe(`ReplayGuard conformance: ${name}`, () => {
    const { clock, family, port } = withFamily(make);
    const ISS = 'https://idp.example';

    test('the first claim of (iss, jti) wins; every later one loses', async () => {
      const jti = unique('jti');
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(true);
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(false);
      expect(await port().claim(ISS, jti, clock.t + 900)).toBe(false);
    });

    test('issuers keep their jtis apart, and distinct jtis are distinct', async () => {
      const jti = unique('jti');
      expect(await port().claim('https://a.example', jti, clock.t + 300)).toBe(true);
      expect(await port().claim('https://b.example', jti, clock.t + 300)).toBe(true);
      expect(await port().claim('https://a.example', `${jti}x`, clock.t + 300)).toBe(true);
      // No separator ambiguity: ("a", "b:c") and ("a:b", "c") are different pairs.
      expect(await port().claim('https://a.example/x', 'y', clock.t + 300)).toBe(true);
      expect(await port().claim('https://a.example', '/x' + 'y', clock.t + 300)).toBe(true);
    });

    test('of 25 concurrent claims of one (iss, jti), exactly one wins', async () => {
      const jti = unique('jti');
      const results = await Promise.all(
        Array.from({ length: 25 }, () => port().claim(ISS, jti, clock.t + 300)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    test('a released claim can be made again; releasing what was never claimed is harmless', async () => {
      const jti = unique('jti');
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(true);
      await port().release(ISS, jti);
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(true);
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(false);
      await expect(port().release(ISS, unique('never'))).resolves.toBeUndefined();
    });

    test('a record counts until its expiry and no longer after it, swept or not', async () => {
      const jti = unique('jti');
      const saved = clock.t;
      try {
        expect(await port().claim(ISS, jti, clock.t + 60)).toBe(true);
        clock.t += 60;
        expect(await port().claim(ISS, jti, clock.t + 60)).toBe(false);
        clock.t += 1;
        expect(await port().claim(ISS, jti, clock.t + 60)).toBe(true);
        expect(await port().claim(ISS, jti, clock.t + 60)).toBe(false);
      } finally {
        clock.t = saved;
      }
    });

    test('a claim storage refused rejects, and leaves no claim behind', async () => {
      const jti = unique('jti');
      family().failNextWrite();
      await expect(port().claim(ISS, jti, clock.t + 300)).rejects.toThrow();
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(true);
    });

    test('a release storage refused rejects, and the jti stays spent (the safe side)', async () => {
      const jti = unique('jti');
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(true);
      family().failNextWrite();
      await expect(port().release(ISS, jti)).rejects.toThrow();
      expect(await port().claim(ISS, jti, clock.t + 300)).toBe(false);
    });
  });
}

export type RegistryPort = ClientRegistry & ClientRecordStore;

const client = (overrides: Partial<ClientRecord> = {}): ClientRecord => ({
  clientId: unique('client'),
  secretRef: `client/${unique('ref')}`,
  scopes: ['read', 'write'],
  resources: ['https://api.example.com/'],
  enabled: true,
  ...overrides,
});

export function clientRegistryConformance(name: string, make: FamilyFactory<RegistryPort>): void {
  describe(`ClientRegistry conformance: ${name}`, () => {
    const { family, port } = withFamily(make);

    test('a record round-trips, with and without its optional fields', async () => {
      const full = client({ tokenLifetime: 600, issuers: ['https://idp.example'] });
      const bare = client();
      expect(await port().add(full)).toBe(true);
      expect(await port().add(bare)).toBe(true);
      expect(await port().get(full.clientId)).toEqual(full);
      const got = await port().get(bare.clientId);
      expect(got).toEqual(bare);
      expect(Object.keys(got!).sort()).toEqual(Object.keys(bare).sort());
    });

    test('a missing client is undefined, never an error', async () => {
      expect(await port().get(unique('nobody'))).toBeUndefined();
      expect(await port().remove(unique('nobody'))).toBeUndefined();
      expect(await port().setEnabled(unique('nobody'), false)).toBe(false);
    });

    test('registering an existing id is refused and leaves the first record untouched', async () => {
      const first = client();
      expect(await port().add(first)).toBe(true);
      expect(await port().add({ ...first, scopes: ['admin'], secretRef: 'client/other' })).toBe(
        false,
      );
      expect(await port().get(first.clientId)).toEqual(first);
    });

    test('of 10 concurrent registrations of one id, exactly one wins', async () => {
      const id = unique('client');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          port().add(client({ clientId: id, secretRef: `client/${i}` })),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await port().get(id))?.secretRef).toBe(`client/${winner}`);
    });

    test('enable and disable change only the flag; list is sorted; remove returns the record', async () => {
      const c = client({ tokenLifetime: 60 });
      await port().add(c);
      expect(await port().setEnabled(c.clientId, false)).toBe(true);
      expect(await port().get(c.clientId)).toEqual({ ...c, enabled: false });
      expect(await port().setEnabled(c.clientId, true)).toBe(true);
      expect(await port().get(c.clientId)).toEqual(c);
      const ids = (await port().list()).map((x) => x.clientId);
      expect(ids).toContain(c.clientId);
      expect(ids).toEqual([...ids].sort((a, b) => a.localeCompare(b)));
      expect(await port().remove(c.clientId)).toEqual(c);
      expect(await port().get(c.clientId)).toBeUndefined();
      expect((await port().list()).map((x) => x.clientId)).not.toContain(c.clientId);
    });

    test('update replaces a registered record whole; an unregistered id is refused', async () => {
      const c = client({ tokenLifetime: 60, issuers: ['https://idp.example'] });
      await port().add(c);
      const { tokenLifetime: _dropped, ...rest } = { ...c, scopes: ['read', 'write'] };
      expect(await port().update(rest)).toBe(true);
      expect(await port().get(c.clientId)).toEqual(rest);
      expect(await port().update(client())).toBe(false);
    });

    test('a registration storage refused rejects, and registers nothing', async () => {
      const c = client();
      family().failNextWrite();
      await expect(port().add(c)).rejects.toThrow();
      expect(await port().get(c.clientId)).toBeUndefined();
      expect(await port().add(c)).toBe(true);
    });
  });
}

export type SecretPort = SecretStore & WritableSecretStore;

export function secretStoreConformance(name: string, make: FamilyFactory<SecretPort>): void {
  describe(`SecretStore conformance: ${name}`, () => {
    const { clock, family, port } = withFamily(make);

    test('a stored secret is read back; another reference is unaffected; a missing one is undefined', async () => {
      const [a, b] = [`client/${unique('a')}`, `client/${unique('b')}`];
      await port().putSecret(a, 'secret-a-0123456789');
      await port().putSecret(b, 'secret-b-0123456789');
      expect((await port().getClientSecret(a))?.current).toBe('secret-a-0123456789');
      expect(await port().getClientSecret(b)).toEqual({ current: 'secret-b-0123456789' });
      expect(await port().getClientSecret(`client/${unique('missing')}`)).toBeUndefined();
    });

    test('a deleted secret is gone on a fresh read; deleting a missing one is harmless', async () => {
      const ref = `client/${unique('gone')}`;
      await port().putSecret(ref, 'secret-gone-0123456789');
      await port().deleteSecret(ref);
      expect(await port().getClientSecret(ref, { refresh: true })).toBeUndefined();
      await expect(port().deleteSecret(ref)).resolves.toBeUndefined();
    });

    test('AUTH-SECRET: after a rotation both secrets authenticate during the grace period, only the new one after it', async () => {
      const ref = `client/${unique('rotate')}`;
      const record: ClientRecord = {
        clientId: 'rotating',
        secretRef: ref,
        scopes: ['read'],
        resources: ['https://api.example/'],
        enabled: true,
      };
      const registry = { get: async () => record };
      const authenticates = (clientSecret: string) =>
        authenticateClient(
          { method: 'client_secret_post', clientId: 'rotating', clientSecret },
          registry,
          port(),
          clock,
        ).then(
          () => true,
          () => false,
        );
      await port().putSecret(ref, 'the-first-secret-0123456789');
      expect(await authenticates('the-first-secret-0123456789')).toBe(true);
      const until = clock.t + 3600;
      expect(await port().rotateSecret(ref, 'the-second-secret-0123456789', until)).toBe(true);
      expect(await authenticates('the-second-secret-0123456789')).toBe(true);
      expect(await authenticates('the-first-secret-0123456789')).toBe(true);
      clock.t = until - 1;
      expect(await authenticates('the-first-secret-0123456789')).toBe(true);
      clock.t = until;
      expect(await authenticates('the-first-secret-0123456789')).toBe(false);
      expect(await authenticates('the-second-secret-0123456789')).toBe(true);
      // Without a grace period the replaced secret stops once any cache of it is stale (a minute
      // on AWS; at once locally).
      expect(await port().rotateSecret(ref, 'the-third-secret-0123456789')).toBe(true);
      expect(await authenticates('the-third-secret-0123456789')).toBe(true);
      clock.t += 61;
      expect(await authenticates('the-second-secret-0123456789')).toBe(false);
      expect(
        await port().rotateSecret(`client/${unique('none')}`, 'no-such-secret-0123456789'),
      ).toBe(false);
    });

    test('a secret storage refused is not stored', async () => {
      const ref = `client/${unique('fail')}`;
      family().failNextWrite();
      await expect(port().putSecret(ref, 'secret-fail-0123456789')).rejects.toThrow();
      expect(await port().getClientSecret(ref, { refresh: true })).toBeUndefined();
    });
  });
}
