/**
 * The port conformance suites against the local store as a cluster worker sees it: reads and
 * claims through ChannelStore, answered by the primary's LocalStore over a channel that delivers
 * in order, later, and only what survives serialisation (as node's IPC does); admin changes made
 * on the primary, acknowledged once the worker has dropped its copies.
 */
import {
  announcingChanges,
  answerStoreCalls,
  ChannelStore,
  type Channel,
} from '../../local/store-channel.js';
import { LocalStore } from '../../local/local-store.js';
import { failableLocalStore } from './failable-local-store.js';
import {
  clientRegistryConformance,
  replayGuardConformance,
  secretStoreConformance,
  type Family,
  type RegistryPort,
  type SecretPort,
  type SuiteClock,
} from './conformance.js';

/** Two ends of a pipe: each message JSON-encoded, delivered on a later turn, in order. */
function channelPair(): [Channel, Channel] {
  const listeners: Array<Array<(m: unknown) => void>> = [[], []];
  const end = (me: number): Channel => ({
    send: (message) => {
      const wire = JSON.stringify(message);
      setImmediate(() => {
        for (const l of listeners[1 - me]!) l(JSON.parse(wire));
      });
    },
    onMessage: (l) => void listeners[me]!.push(l),
  });
  return [end(0), end(1)];
}

interface Sides {
  readonly worker: ChannelStore;
  readonly admin: ReturnType<typeof announcingChanges>;
}

async function channelFamily<Port>(clock: SuiteClock, pick: (s: Sides) => Port) {
  const { store, failNextWrite, close } = await failableLocalStore(clock, 'xaa-ports-channel-');
  const [primaryEnd, workerEnd] = channelPair();
  const served = answerStoreCalls(primaryEnd, store, new Uint8Array(32), () => undefined);
  const worker = new ChannelStore(workerEnd);
  const admin = announcingChanges(store, () => served.invalidate());
  return {
    port: pick({ worker, admin }),
    failNextWrite,
    close: async () => {
      worker.close();
      await close();
    },
  } satisfies Family<Port>;
}

replayGuardConformance('the local store through a worker channel', (clock) =>
  channelFamily(clock, ({ worker }) => worker),
);
clientRegistryConformance('the local store through a worker channel', (clock) =>
  channelFamily(clock, ({ worker, admin }): RegistryPort => ({
    get: (id) => worker.get(id),
    add: (c) => admin.add(c),
    list: () => admin.list(),
    remove: (id) => admin.remove(id),
    setEnabled: (id, enabled) => admin.setEnabled(id, enabled),
    update: (c) => admin.update(c),
  })),
);
secretStoreConformance('the local store through a worker channel', (clock) =>
  channelFamily(clock, ({ worker, admin }): SecretPort => ({
    getClientSecret: (ref, options) => worker.getClientSecret(ref, options),
    putSecret: (ref, secret) => admin.putSecret(ref, secret),
    deleteSecret: (ref) => admin.deleteSecret(ref),
    rotateSecret: (ref, secret, until) => admin.rotateSecret(ref, secret, until),
  })),
);

describe('ChannelStore', () => {
  test('a worker reads a client once; an admin change is seen on the next read, not before its acknowledgement', async () => {
    const store = LocalStore.memory();
    const [primaryEnd, workerEnd] = channelPair();
    const calls: string[] = [];
    const counted: Channel = {
      send: primaryEnd.send,
      onMessage: (l) =>
        primaryEnd.onMessage((m) => {
          if (typeof m === 'object' && m && 'op' in m) calls.push(String(m.op));
          l(m);
        }),
    };
    const served = answerStoreCalls(counted, store, new Uint8Array(32), () => undefined);
    const worker = new ChannelStore(workerEnd);
    const admin = announcingChanges(store, () => served.invalidate());
    const record = { clientId: 'c', secretRef: 'client/c', scopes: ['read'], enabled: true };
    await admin.add(record as never);
    expect((await worker.get('c'))?.enabled).toBe(true);
    expect((await worker.get('c'))?.enabled).toBe(true);
    expect(calls.filter((c) => c === 'get')).toHaveLength(1);
    // Held records are shared by every request in the worker: none may change them for the next.
    const held = (await worker.get('c'))!;
    expect(Object.isFrozen(held) && Object.isFrozen(held.scopes)).toBe(true);
    await admin.setEnabled('c', false);
    expect((await worker.get('c'))?.enabled).toBe(false);
    // Unknown ids are asked each time, never held.
    expect(await worker.get('nobody')).toBeUndefined();
    expect(await worker.get('nobody')).toBeUndefined();
    expect(calls.filter((c) => c === 'get')).toHaveLength(4);
    worker.close();
    await expect(
      worker.claim('https://idp', 'j', Math.floor(Date.now() / 1000) + 60),
    ).rejects.toThrow('the local store is gone');
  });

  test('a store failure reaches the worker as its error code, never its message', async () => {
    const [primaryEnd, workerEnd] = channelPair();
    const failing = {
      get: () => Promise.reject(new Error('secret-looking detail')),
      getClientSecret: () => Promise.resolve(undefined),
      claim: () =>
        Promise.reject(Object.assign(new Error('disk full: detail'), { code: 'ENOSPC' })),
      release: () => Promise.resolve(),
    };
    const errors: unknown[] = [];
    answerStoreCalls(primaryEnd, failing, new Uint8Array(32), (e) => errors.push(e));
    const worker = new ChannelStore(workerEnd);
    await expect(worker.get('c')).rejects.toThrow(/^the local store failed$/);
    await expect(worker.claim('i', 'j', 1)).rejects.toThrow(/^the local store failed \(ENOSPC\)$/);
    expect(errors).toHaveLength(2);
    worker.close();
  });

  test("every worker is handed the primary's DPoP nonce key", async () => {
    const [primaryEnd, workerEnd] = channelPair();
    const key = new Uint8Array(32).map((_, i) => i);
    answerStoreCalls(primaryEnd, LocalStore.memory(), key, () => undefined);
    const worker = new ChannelStore(workerEnd);
    expect([...(await worker.nonceKey())]).toEqual([...key]);
    worker.close();
  });
});
