/**
 * The local server: the Lambda handlers behind node:http, on embedded defaults under DATA_DIR —
 * the local store (clients, secrets, spent jtis: memory + journals) and a key file for signing.
 * Nothing listens but PORT; the admin command reaches the store through a Unix socket in DATA_DIR.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { LocalConfig } from '../lambda/config.js';
import { createAuthorizeHandler } from '../lambda/handlers/authorize.js';
import { createDiscoveryHandler } from '../lambda/handlers/discovery.js';
import { createJwksHandler } from '../lambda/handlers/jwks.js';
import { createTokenHandler } from '../lambda/handlers/token.js';
import { describeError, type Log } from '../lambda/logging.js';
import { RemoteIssuerKeys, type IssuerKeysOptions } from '../lambda/remote/issuer-keys.js';
import { remoteClientSources } from '../lambda/remote/client-sources.js';
import { PATHS } from '../lambda/oauth/metadata.js';
import { TokenService } from '../lambda/oauth/token-service.js';
import { systemClock, type Clock } from '../lambda/ports.js';
import { bridge } from './http-bridge.js';
import { serveAdminSocket } from './admin-socket.js';
import { serviceEnvironment } from './admin/effective-config.js';
import { dataDirPaths, lockDataDir, preparePrivateDir, preparePrivateFile } from './data-dir.js';
import { KeyFileSigner } from '../lambda/key-file-signer.js';
import { LocalStore } from './local-store.js';
import { announcingChanges } from './store-channel.js';

export const localPaths = dataDirPaths;

export interface LocalServer {
  /** Where the server listens (which may differ from the issuer, e.g. behind a tunnel). */
  readonly url: string;
  readonly server: Server;
  readonly issuerKeys: RemoteIssuerKeys;
  /** The trusted issuers whose JWKS could not be fetched at start-up, each with why. */
  readonly unreachableIssuers: Promise<ReadonlyMap<string, string>>;
  /**
   * Stops taking connections; requests in flight get up to `drainMs` to be answered (default 0:
   * none), then every connection is closed and DATA_DIR let go.
   */
  close(options?: { drainMs?: number }): Promise<Drained>;
}

/** What stopping did to the requests in flight. */
export interface Drained {
  readonly answered: number;
  readonly cut: number;
}

export interface LocalServerOptions {
  readonly logger: Log;
  readonly clock?: Clock;
  readonly issuerKeys?: IssuerKeysOptions;
  /**
   * Called once, with one line saying so, when DATA_DIR's lock or admin socket disappears under the
   * running server (the folder deleted or replaced): the caller stops it. Logged when absent.
   */
  readonly onStateLost?: (message: string) => void;
  /** How often the lock and the socket are looked at, in ms (default 1000). */
  readonly stateCheckMs?: number;
}

export async function startLocalServer(
  config: LocalConfig,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const { logger } = options;
  const { issuerKeys, unreachable } = warmIssuerKeys(config, options);
  const state = await openLocalState(config, options);
  let http: HttpListener;
  try {
    const service = new TokenService({
      config,
      registry: state.store,
      secrets: state.store,
      signer: state.signer,
      replay: state.store,
      issuerKeys,
      ...remoteClientSources(config),
      clock: options.clock ?? systemClock,
      // DPOP-NONCE without DPOP_NONCE_KEY: one process serves the token endpoint here, so a key
      // of its own will do (a restart costs each client one use_dpop_nonce round trip).
      dpopNonceKey: async () => randomBytes(32),
    });
    http = await listenHttp(config, { service, signer: state.signer, logger });
  } catch (err) {
    await state.close();
    throw err;
  }
  return {
    url: http.url,
    server: http.server,
    issuerKeys,
    unreachableIssuers: unreachable,
    close: async ({ drainMs = 0 } = {}) => {
      const drained = await http.close(drainMs);
      await state.close();
      return drained;
    },
  };
}

/**
 * Starts every trusted issuer's JWKS fetch: it runs while the rest starts, and an issuer that
 * cannot be reached (an offline laptop) is fetched again on demand. Failures of this first fetch
 * are not logged but resolved in `unreachable`, for the banner to mark in one line each; later
 * failures are logged.
 */
export function warmIssuerKeys(
  config: LocalConfig,
  options: Pick<LocalServerOptions, 'logger' | 'issuerKeys'>,
): { issuerKeys: RemoteIssuerKeys; unreachable: Promise<ReadonlyMap<string, string>> } {
  const failed = new Map<string, string>();
  let warming = true;
  const issuerKeys = new RemoteIssuerKeys(config.trustedIssuers, {
    onFetchError: (issuer, err) => {
      if (warming) failed.set(issuer, reasonOf(err));
      else
        options.logger.warn('trusted issuer JWKS fetch failed', {
          issuer,
          cause: describeError(err),
        });
    },
    ...options.issuerKeys,
  });
  const unreachable = issuerKeys.warm().then(() => {
    warming = false;
    return failed;
  });
  return { issuerKeys, unreachable };
}

/** An error and its cause in one line: fetch's "fetch failed" says nothing without its cause. */
function reasonOf(err: unknown): string {
  const message = (e: unknown) => (e as { message?: unknown } | undefined)?.message;
  return (
    [err, (err as { cause?: unknown } | undefined)?.cause]
      .map(message)
      .filter((m) => typeof m === 'string')
      .join(': ') || String(err)
  );
}

/** DATA_DIR as the server owns it: locked, its admin socket up, the store loaded, the key read. */
export interface LocalState {
  readonly store: LocalStore;
  readonly signer: KeyFileSigner;
  close(): Promise<void>;
}

export async function openLocalState(
  config: LocalConfig,
  options: Pick<LocalServerOptions, 'logger' | 'clock' | 'onStateLost' | 'stateCheckMs'> & {
    /** Awaited after each admin change, before it is acknowledged (workers drop their copies). */
    afterChange?: () => Promise<void>;
  },
): Promise<LocalState> {
  const { logger } = options;
  const paths = localPaths(config.dataDir);
  // The lock first: a second server on this DATA_DIR stops here with one line, touching nothing.
  preparePrivateDir(config.dataDir);
  const lock = await lockDataDir(config.dataDir, 'server');
  const cleanup: Array<() => unknown> = [() => lock.release()];
  let closing = false;
  const closeAll = async () => {
    closing = true;
    for (const step of cleanup.reverse()) await step();
  };
  try {
    // The socket straight after the lock, so another process can tell a live holder from a dead
    // one; admin requests wait for the store to load.
    let loaded!: (s: LocalStore) => void;
    let failed!: (e: unknown) => void;
    const storeReady = new Promise<LocalStore>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    storeReady.catch(() => undefined);
    const { afterChange } = options;
    const adminStore = afterChange
      ? storeReady.then((s) => announcingChanges(s, afterChange))
      : storeReady;
    adminStore.catch(() => undefined);
    const admin = await serveAdminSocket(
      paths.socket,
      adminStore,
      (err) => logger.error('admin request failed', { cause: describeError(err) }),
      // `assertion check` and `clients add` judge by what this server runs with (no secrets).
      serviceEnvironment(config),
    );
    cleanup.push(() => admin.close());
    let store: LocalStore;
    try {
      store = LocalStore.open(config.dataDir, {
        clock: options.clock ?? systemClock,
        syncReplay: config.dataFsync,
      });
    } catch (err) {
      failed(err);
      throw err;
    }
    loaded(store);
    // Closed after the admin socket (cleanup runs backwards), so no admin change meets a closed store.
    cleanup.splice(1, 0, () => store.close());
    store.startSweeping();
    preparePrivateFile(paths.signingKey);
    // Requests in flight overlap here: the signature on the thread pool, the next request's
    // work on this thread (docs/performance.md measures both ways).
    const signer = await KeyFileSigner.open(paths.signingKey, { threadPool: true });
    // Deleting DATA_DIR under a running server would split its state: this server serving from
    // memory, the admin and any next server starting afresh on the empty folder. The lock and the
    // socket vanish with the folder, so their absence stops this server.
    const watch = setInterval(() => {
      void (async () => {
        const gone = !(await lock.stillHeld())
          ? 'lock'
          : !(await admin.stillBound())
            ? 'admin.sock'
            : undefined;
        if (!gone || closing) return;
        clearInterval(watch);
        const message = `DATA_DIR ${config.dataDir} was deleted or replaced under the running server (its ${gone} is gone): stopping, so that no other server shares its clients and spent jtis; stop the server first when you delete DATA_DIR`;
        if (options.onStateLost) options.onStateLost(message);
        else logger.error(message);
      })().catch((err: unknown) =>
        logger.error('DATA_DIR check failed', { cause: describeError(err) }),
      );
    }, options.stateCheckMs ?? 1000);
    watch.unref();
    cleanup.push(() => clearInterval(watch));
    return { store, signer, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The routes on node:http, listening on PORT. */
export interface HttpListener {
  readonly server: Server;
  readonly url: string;
  /** Stops taking connections; requests in flight get up to `drainMs` to be answered. */
  close(drainMs?: number): Promise<Drained>;
}

export async function listenHttp(
  config: LocalConfig,
  deps: { service: TokenService; signer: KeyFileSigner; logger: Log },
): Promise<HttpListener> {
  const { service, signer, logger } = deps;
  const discovery = createDiscoveryHandler(config);
  const routes = new Map([
    [PATHS.oauthMetadata, discovery],
    [PATHS.openidConfiguration, discovery],
    [PATHS.jwks, createJwksHandler({ keys: signer, corsOrigins: config.corsOrigins, logger })],
    [PATHS.token, createTokenHandler({ service, corsOrigins: config.corsOrigins, logger })],
    [PATHS.authorize, createAuthorizeHandler(config)],
  ]);

  const handle = bridge(routes, (err) =>
    logger.error('request failed', { cause: describeError(err) }),
  );
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      settled?.();
    });
    handle(req, res);
  });
  server.listen(config.port, config.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw listenError(err, config);
  }
  return {
    server,
    url: urlOf(server.address() as AddressInfo),
    close: async (drainMs = 0) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const before = inFlight;
      if (drainMs > 0 && inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          settled = () => {
            // A keep-alive connection whose response is out would wait for its next request.
            setImmediate(() => server.closeIdleConnections());
            if (inFlight === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
      }
      settled = undefined;
      const cut = inFlight;
      server.closeAllConnections();
      await closed;
      return { answered: Math.max(0, before - cut), cut };
    },
  };
}

/** Why PORT could not be listened on, saying which variable to change. */
function listenError(err: unknown, { port, host }: LocalConfig): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new Error(
      `port ${port} on ${host} is in use (another npm start?): stop what listens there, or choose another port with PORT`,
    );
  if (code === 'EACCES')
    return new Error(
      `port ${port} on ${host} needs privileges: choose a port above 1023 with PORT`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new Error(`${host} is not an address of this machine: check HOST`);
  return err;
}

export const urlOf = ({ address, port }: Pick<AddressInfo, 'address' | 'port'>): string =>
  `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
