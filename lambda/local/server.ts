/**
 * The local server: the Lambda handlers behind node:http, on embedded defaults under DATA_DIR —
 * the local store (clients, secrets, spent jtis: memory + journals) and a key file for signing.
 * Nothing listens but PORT; the admin command reaches the store through a Unix socket in DATA_DIR.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { LocalConfig } from '../config.js';
import { createAuthorizeHandler } from '../handlers/authorize.js';
import { createDiscoveryHandler } from '../handlers/discovery.js';
import { createJwksHandler } from '../handlers/jwks.js';
import { createTokenHandler } from '../handlers/token.js';
import { describeError, type Log } from '../logging.js';
import { RemoteIssuerKeys, type IssuerKeysOptions } from '../remote/issuer-keys.js';
import { PATHS } from '../oauth/metadata.js';
import { TokenService } from '../oauth/token-service.js';
import { systemClock, type Clock } from '../ports.js';
import { bridge } from './http-bridge.js';
import { serveAdminSocket } from './admin-socket.js';
import { serviceEnvironment } from '../admin/effective-config.js';
import { dataDirPaths, lockDataDir, preparePrivateDir, preparePrivateFile } from './data-dir.js';
import { KeyFileSigner } from './key-file-signer.js';
import { LocalStore } from './local-store.js';
import { announcingChanges } from './store-channel.js';

export const localPaths = dataDirPaths;

export interface LocalServer {
  /** Where the server listens (which may differ from the issuer, e.g. behind a tunnel). */
  readonly url: string;
  readonly server: Server;
  readonly issuerKeys: RemoteIssuerKeys;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  readonly logger: Log;
  readonly clock?: Clock;
  readonly issuerKeys?: IssuerKeysOptions;
}

export async function startLocalServer(
  config: LocalConfig,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const { logger } = options;
  const issuerKeys = warmIssuerKeys(config, options);
  const state = await openLocalState(config, options);
  let http: { server: Server; url: string };
  try {
    const service = new TokenService({
      config,
      registry: state.store,
      secrets: state.store,
      signer: state.signer,
      replay: state.store,
      issuerKeys,
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
    ...http,
    issuerKeys,
    close: async () => {
      await closeHttp(http.server);
      await state.close();
    },
  };
}

/**
 * Starts every trusted issuer's JWKS fetch: it runs while the rest starts, and an issuer that
 * cannot be reached (an offline laptop) is logged and fetched again on demand.
 */
export function warmIssuerKeys(
  config: LocalConfig,
  options: Pick<LocalServerOptions, 'logger' | 'issuerKeys'>,
): RemoteIssuerKeys {
  const issuerKeys = new RemoteIssuerKeys(config.trustedIssuers, {
    onFetchError: (issuer, err) =>
      options.logger.warn('trusted issuer JWKS fetch failed', {
        issuer,
        cause: describeError(err),
      }),
    ...options.issuerKeys,
  });
  void issuerKeys.warm();
  return issuerKeys;
}

/** DATA_DIR as the server owns it: locked, its admin socket up, the store loaded, the key read. */
export interface LocalState {
  readonly store: LocalStore;
  readonly signer: KeyFileSigner;
  close(): Promise<void>;
}

export async function openLocalState(
  config: LocalConfig,
  options: Pick<LocalServerOptions, 'logger' | 'clock'> & {
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
  const closeAll = async () => {
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
    if (store.clientCount === 0 && existsSync(paths.legacyDynamo)) {
      logger.warn(
        `${paths.legacyDynamo} holds clients registered before the local store replaced dynalite; they are not read: register them again with npm run admin -- clients add, then delete that folder`,
      );
    }
    preparePrivateFile(paths.signingKey);
    // Requests in flight overlap here: the signature on the thread pool, the next request's
    // work on this thread (docs/performance.md measures both ways).
    const signer = await KeyFileSigner.open(paths.signingKey, { threadPool: true });
    return { store, signer, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The routes on node:http, listening on PORT. */
export async function listenHttp(
  config: LocalConfig,
  deps: { service: TokenService; signer: KeyFileSigner; logger: Log },
): Promise<{ server: Server; url: string }> {
  const { service, signer, logger } = deps;
  const discovery = createDiscoveryHandler(config);
  const routes = new Map([
    [PATHS.oauthMetadata, discovery],
    [PATHS.openidConfiguration, discovery],
    [PATHS.jwks, createJwksHandler({ keys: signer, corsOrigins: config.corsOrigins, logger })],
    [PATHS.token, createTokenHandler({ service, corsOrigins: config.corsOrigins, logger })],
    [PATHS.authorize, createAuthorizeHandler(config)],
  ]);

  const server = createServer(
    bridge(routes, (err) => logger.error('request failed', { cause: describeError(err) })),
  );
  server.listen(config.port, config.host);
  await once(server, 'listening');
  return { server, url: urlOf(server.address() as AddressInfo) };
}

export const urlOf = ({ address, port }: Pick<AddressInfo, 'address' | 'port'>): string =>
  `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

export async function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
