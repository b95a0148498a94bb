/**
 * The local server on every core: node's cluster module. The primary process owns what must be
 * one — DATA_DIR's lock, the admin socket, the store and its journals, the signing key file (made
 * before any worker starts) and the DPoP nonce key — and forks workers that serve PORT: HTTP,
 * parsing, verification and signing, in parallel. A worker reaches the store through its IPC
 * channel (local/store-channel.ts), never through a path or a port; the primary holds
 * PORT's listening socket and hands each connection to a worker in turn.
 *
 * A worker exits as soon as its primary is gone (kill -9 included): no worker outlives the store
 * it answers from, and the next server finds DATA_DIR free.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ConfigError, type LocalConfig } from '../lambda/config.js';
import { describeError, type Log } from '../lambda/logging.js';
import { TokenService } from '../lambda/oauth/token-service.js';
import { systemClock } from '../lambda/ports.js';
import { KeyFileSigner } from '../lambda/key-file-signer.js';
import { remoteClientSources } from '../lambda/remote/client-sources.js';
import {
  listenHttp,
  localPaths,
  openLocalState,
  urlOf,
  warmIssuerKeys,
  type Drained,
  type LocalServerOptions,
} from './server.js';
import {
  answerStoreCalls,
  ChannelStore,
  type Channel,
  type StoreChannelServer,
} from './store-channel.js';

/**
 * LOCAL_WORKERS: how many processes serve PORT; 1 (the default) is one process doing everything,
 * `auto` one per CPU. One is the default because it was the faster on the 2-core machine the
 * bench runs on: its event loop and the thread pool (signatures) already use the second core, and
 * the IPC and a second heap cost more than that core gives back (docs/architecture.md, "The local
 * store"). More workers pay off only where cores sit idle under one process.
 */
export function workerCount(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.LOCAL_WORKERS?.trim();
  if (!raw) return 1;
  if (raw === 'auto') return availableParallelism();
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 64)
    throw new ConfigError(
      'LOCAL_WORKERS',
      `must be auto or a whole number from 1 to 64, got ${JSON.stringify(raw)}`,
    );
  return Number(raw);
}

/** What a worker tells its primary, besides store calls. */
type WorkerNote = { workerFailed: string } | { workerDrained: Drained };
/** What a primary tells a worker, besides store answers. */
type PrimaryNote = { workerStop: true; drainMs: number };

export interface LocalCluster {
  readonly url: string;
  readonly workers: number;
  /** The trusted issuers whose JWKS the primary could not fetch at start-up, each with why. */
  readonly unreachableIssuers: Promise<ReadonlyMap<string, string>>;
  /** As LocalServer.close, over every worker. */
  close(options?: { drainMs?: number }): Promise<Drained>;
}

/** How long a worker may take to stop beyond the drain it was given, before it is killed. */
const STOP_GRACE_MS = 5000;

const isNote = <K extends string>(m: unknown, key: K): m is Record<K, unknown> =>
  typeof m === 'object' && m !== null && key in m;

/** The primary: opens DATA_DIR, forks `workers` workers, resolves once all of them listen. */
export async function startLocalCluster(
  config: LocalConfig,
  options: Pick<LocalServerOptions, 'logger' | 'onStateLost' | 'stateCheckMs' | 'issuerKeys'> & {
    workers: number;
  },
): Promise<LocalCluster> {
  const { logger, workers } = options;
  const channels = new Map<Worker, StoreChannelServer>();
  // The workers fetch their own keys; this fetch is the banner's, which the primary prints.
  const { unreachable } = warmIssuerKeys(config, options);
  const state = await openLocalState(config, {
    ...options,
    // An admin change is acknowledged once no worker holds what it replaced.
    afterChange: async () => {
      await Promise.all([...channels.values()].map((c) => c.invalidate()));
    },
  });
  // DPOP-NONCE without DPOP_NONCE_KEY: one key for every worker, so a nonce one worker issued is
  // accepted by the next, whichever the connection lands on.
  const nonceKey = randomBytes(32);
  let closing = false;
  const live = new Set<Worker>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    live.add(worker);
    const channel: Channel = {
      send: (m) => void worker.send(m as object),
      onMessage: (l) => worker.on('message', l),
    };
    const server = answerStoreCalls(channel, state.store, nonceKey, (err) =>
      logger.error('store call failed', { cause: describeError(err) }),
    );
    channels.set(worker, server);
    worker.once('exit', () => {
      channels.delete(worker);
      server.closed();
    });
    return worker;
  };

  const stopWorkers = async (drainMs = 0): Promise<Drained> => {
    closing = true;
    const total = { answered: 0, cut: 0 };
    await Promise.all(
      [...live].map(async (worker) => {
        if (worker.isDead()) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.on('message', (m: unknown) => {
          if (!isNote(m, 'workerDrained')) return;
          const { answered, cut } = m.workerDrained as Drained;
          total.answered += answered;
          total.cut += cut;
        });
        try {
          worker.send({ workerStop: true, drainMs } satisfies PrimaryNote);
        } catch {
          // Its channel is closed already: it is on its way out.
        }
        const timer = setTimeout(() => worker.process.kill('SIGKILL'), drainMs + STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
    return total;
  };

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let listening = 0;
      for (let i = 0; i < workers; i++) {
        const worker = fork();
        let up = false;
        let failure: string | undefined;
        worker.on('message', (m: unknown) => {
          if (isNote(m, 'workerFailed')) failure = String(m.workerFailed);
        });
        worker.once('listening', (address) => {
          up = true;
          if (++listening === workers)
            resolve(urlOf({ address: address.address ?? config.host, port: address.port }));
        });
        worker.once('exit', (code, signal) => {
          live.delete(worker);
          if (!up)
            reject(new Error(failure ?? `a worker exited before listening (${signal ?? code})`));
          else if (!closing) {
            // A worker that dies later is replaced: the store and the lock never left the primary.
            logger.error('worker exited; starting another', { code, signal });
            fork();
          }
        });
      }
    });
  } catch (err) {
    await stopWorkers();
    await state.close();
    throw err;
  }
  return {
    url,
    workers,
    unreachableIssuers: unreachable,
    close: async ({ drainMs = 0 } = {}) => {
      const drained = await stopWorkers(drainMs);
      await state.close();
      return drained;
    },
  };
}

/** A worker: the token service on the primary's store, serving PORT beside its siblings. */
export async function runLocalWorker(config: LocalConfig, options: { logger: Log }): Promise<void> {
  const { logger } = options;
  const channel: Channel = {
    send: (m) => {
      if (!process.connected) throw new Error('the primary is gone');
      process.send!(m);
    },
    onMessage: (l) => process.on('message', l),
  };
  const store = new ChannelStore(channel);
  // The primary coordinates every stop (Ctrl-C reaches the whole process group): a worker goes
  // when told to, or when its primary is gone.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => {
    store.close();
    process.exit(0);
  });
  try {
    // Unreachable issuers are the primary's to report, in its banner.
    const { issuerKeys } = warmIssuerKeys(config, { logger });
    // The primary made the key file before forking: this only reads it.
    // On this thread: every core has a worker already, and the hop to the pool costs CPU.
    const signer = await KeyFileSigner.open(localPaths(config.dataDir).signingKey);
    const service = new TokenService({
      config,
      registry: store,
      secrets: store,
      signer,
      replay: store,
      issuerKeys,
      ...remoteClientSources(config),
      clock: systemClock,
      dpopNonceKey: () => store.nonceKey(),
    });
    const http = await listenHttp(config, { service, signer, logger });
    process.on('message', (m: unknown) => {
      if (!isNote(m, 'workerStop')) return;
      void http
        .close(Number((m as PrimaryNote).drainMs) || 0)
        .then((drained) => {
          const note: WorkerNote = { workerDrained: drained };
          if (process.connected) process.send!(note, () => process.exit(0));
          else process.exit(0);
        })
        .catch(() => process.exit(1));
    });
  } catch (err) {
    // One line, said by the primary (the reason, never a stack).
    const note: WorkerNote = { workerFailed: err instanceof Error ? err.message : String(err) };
    if (!process.connected) process.exit(1);
    process.send!(note, () => process.exit(1));
  }
}
