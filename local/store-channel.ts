/**
 * The local store across a process boundary: with workers (local/cluster.ts), the primary
 * owns the LocalStore and its journals, and each worker reaches it through its IPC channel (a
 * socketpair node's cluster module opens: no path, no port). One message per call, one per answer.
 *
 * A worker keeps the clients and secrets it has read, so a token costs one round trip (its claim)
 * rather than three. Before the primary acknowledges an admin change it has every worker drop
 * what it holds and waits for each to confirm (`invalidate`): the change is in effect on the next
 * request in every worker, as with one process. A claim resolves only once the primary has
 * appended it to its journal, so a worker promises no more than the store does.
 */
import type { ClientRecordStore, WritableSecretStore } from './admin/client-admin.js';
import type {
  ClientRecord,
  ClientRegistry,
  ClientSecret,
  ReplayGuard,
  SecretStore,
} from '../lambda/ports.js';

/** One end of a message channel (a worker's `process`, or the primary's `Worker`). */
export interface Channel {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** The store operations a worker may ask for: reads and replay claims, never an admin change. */
const OPERATIONS = ['get', 'getClientSecret', 'claim', 'release', 'nonceKey'] as const;
type Operation = (typeof OPERATIONS)[number];

interface Call {
  readonly storeCall: number;
  readonly op: Operation;
  readonly args: unknown[];
}
type Answer = { storeAnswer: number; result?: unknown } | { storeAnswer: number; error: string };
/** Primary → worker: drop every cached client and secret, then confirm with the same number. */
type Invalidate = { storeInvalidate: number };
type Invalidated = { storeInvalidated: number };

const isCall = (m: unknown): m is Call =>
  typeof m === 'object' && m !== null && typeof (m as Call).storeCall === 'number';
const isAnswer = (m: unknown): m is Answer =>
  typeof m === 'object' && m !== null && typeof (m as Answer).storeAnswer === 'number';
const isInvalidate = (m: unknown): m is Invalidate =>
  typeof m === 'object' && m !== null && typeof (m as Invalidate).storeInvalidate === 'number';
const isInvalidated = (m: unknown): m is Invalidated =>
  typeof m === 'object' && m !== null && typeof (m as Invalidated).storeInvalidated === 'number';

/** The primary's handle on one worker's channel. */
export interface StoreChannelServer {
  /** Resolves once the worker holds no client or secret read before this call. */
  invalidate(): Promise<void>;
  /** The worker is gone: nothing waits for it any more. */
  closed(): void;
}

const CACHE_LIMIT = 10_000;

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

export type ServedStore = ClientRegistry & SecretStore & ReplayGuard;

/**
 * The primary's side: answers a worker's calls on `store`. A failure is answered with its error
 * code alone (never a message, which could quote stored data) and reported to `onError`.
 */
export function answerStoreCalls(
  channel: Channel,
  store: ServedStore,
  nonceKey: Uint8Array,
  onError: (err: unknown) => void,
): StoreChannelServer {
  /** Whether the worker may hold anything: not before it has been answered a read. */
  let hasRead = false;
  let serial = 0;
  const confirming = new Map<number, () => void>();
  const run = (op: Operation, args: unknown[]): Promise<unknown> => {
    const s = (i: number) => String(args[i]);
    switch (op) {
      case 'get':
        return store.get(s(0));
      case 'getClientSecret':
        return store.getClientSecret(s(0));
      case 'claim':
        return store.claim(s(0), s(1), Number(args[2]));
      case 'release':
        return store.release(s(0), s(1));
      case 'nonceKey':
        return Promise.resolve(Buffer.from(nonceKey).toString('base64'));
    }
  };
  channel.onMessage((message) => {
    if (isInvalidated(message)) {
      confirming.get(message.storeInvalidated)?.();
      confirming.delete(message.storeInvalidated);
      return;
    }
    if (!isCall(message)) return;
    const { storeCall: id, op, args } = message;
    const reply = (answer: Answer) => {
      try {
        channel.send(answer);
      } catch {
        // The worker is gone: nobody is waiting for this answer.
      }
    };
    if (!OPERATIONS.includes(op) || !Array.isArray(args)) {
      reply({ storeAnswer: id, error: 'unknown store operation' });
      return;
    }
    run(op, args).then(
      (result) => {
        if (op === 'get' || op === 'getClientSecret') hasRead = true;
        reply({ storeAnswer: id, result });
      },
      (err: unknown) => {
        onError(err);
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        reply({ storeAnswer: id, error: `the local store failed${code ? ` (${code})` : ''}` });
      },
    );
  });
  const closed = () => {
    for (const done of confirming.values()) done();
    confirming.clear();
  };
  return {
    invalidate: () => {
      if (!hasRead) return Promise.resolve();
      const id = serial++;
      return new Promise<void>((resolve) => {
        confirming.set(id, resolve);
        try {
          channel.send({ storeInvalidate: id } satisfies Invalidate);
        } catch {
          closed();
        }
      });
    },
    closed,
  };
}

export type AdminStore = ClientRecordStore & WritableSecretStore;

/** The store as the admin socket sees it: each change resolves only after `afterChange` has. */
export function announcingChanges(store: AdminStore, afterChange: () => Promise<void>): AdminStore {
  const after =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await f.apply(store, args);
      await afterChange();
      return result;
    };
  return {
    get: (id) => store.get(id),
    list: () => store.list(),
    add: after(store.add),
    setEnabled: after(store.setEnabled),
    update: after(store.update),
    remove: after(store.remove),
    putSecret: after(store.putSecret),
    rotateSecret: after(store.rotateSecret),
    deleteSecret: after(store.deleteSecret),
  };
}

/** A worker's side: the ports the token service needs, each call answered by the primary. */
export class ChannelStore implements ClientRegistry, SecretStore, ReplayGuard {
  private serial = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private closedBecause: string | undefined;
  /**
   * What the primary answered, kept until it says otherwise. Only what exists is kept (a flood of
   * unknown client ids costs no memory), and at most CACHE_LIMIT entries of each.
   */
  private readonly clients = new Map<string, Promise<ClientRecord | undefined>>();
  private readonly secrets = new Map<string, Promise<ClientSecret | undefined>>();

  constructor(private readonly channel: Channel) {
    channel.onMessage((message) => {
      if (isInvalidate(message)) {
        // Channels deliver in order: an answer read before the change arrived before this.
        this.clients.clear();
        this.secrets.clear();
        this.send({ storeInvalidated: message.storeInvalidate } satisfies Invalidated);
        return;
      }
      if (!isAnswer(message)) return;
      const waiting = this.pending.get(message.storeAnswer);
      if (!waiting) return;
      this.pending.delete(message.storeAnswer);
      if ('error' in message) waiting.reject(new Error(message.error));
      else waiting.resolve(message.result);
    });
  }

  get(clientId: string): Promise<ClientRecord | undefined> {
    return this.cached(this.clients, clientId, 'get');
  }

  /** `refresh` (a presented secret did not match) asks the primary again. */
  getClientSecret(ref: string, options?: { refresh?: boolean }): Promise<ClientSecret | undefined> {
    if (options?.refresh) this.secrets.delete(ref);
    return this.cached(this.secrets, ref, 'getClientSecret');
  }

  claim(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.call('claim', [issuer, jti, expiresAt]) as Promise<boolean>;
  }

  async release(issuer: string, jti: string): Promise<void> {
    await this.call('release', [issuer, jti]);
  }

  /** DPOP-NONCE: the key the primary made at start, shared by every worker. */
  async nonceKey(): Promise<Uint8Array> {
    return Buffer.from((await this.call('nonceKey', [])) as string, 'base64');
  }

  /** The primary is gone: every call waiting, and every later one, rejects. */
  close(reason = 'the local store is gone'): void {
    this.closedBecause = reason;
    for (const { reject } of this.pending.values()) reject(new Error(reason));
    this.pending.clear();
  }

  /**
   * The entry is set when the call is sent, and the answer settles it in the message handler
   * itself, so an invalidation that follows the answer on the channel always finds it.
   */
  private cached<T>(
    cache: Map<string, Promise<T | undefined>>,
    key: string,
    op: 'get' | 'getClientSecret',
  ): Promise<T | undefined> {
    const held = cache.get(key);
    if (held) return held;
    const asked = this.call(op, [key], (value) => {
      // Shared by every caller in this worker: none may change it for the others.
      deepFreeze(value);
      // Only what exists is kept.
      if (value === undefined && cache.get(key) === asked) cache.delete(key);
    }) as Promise<T | undefined>;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, asked);
    asked.catch(() => {
      if (cache.get(key) === asked) cache.delete(key);
    });
    return asked;
  }

  private send(message: unknown): void {
    try {
      this.channel.send(message);
    } catch {
      // The primary is gone; the disconnect ends this worker.
    }
  }

  private call(
    op: Operation,
    args: unknown[],
    onAnswer?: (value: unknown) => void,
  ): Promise<unknown> {
    if (this.closedBecause) return Promise.reject(new Error(this.closedBecause));
    const id = this.serial++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (value) => {
          onAnswer?.(value);
          resolve(value);
        },
        reject,
      });
      try {
        this.channel.send({ storeCall: id, op, args } satisfies Call);
      } catch (err) {
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
