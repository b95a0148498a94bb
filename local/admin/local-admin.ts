/**
 * The store an admin command works on: the running server's, through its socket, so a change is
 * in effect on the server's next request; or, with no server running, DATA_DIR's files directly
 * under the lock (a server started meanwhile waits for the command to finish).
 */
import { AdminSocketClient, type AdminStore } from '../admin-socket.js';
import { dataDirPaths, DataDirError, lockDataDir, preparePrivateDir } from '../data-dir.js';
import { LocalStore } from '../local-store.js';

export interface OpenedStore {
  readonly store: AdminStore;
  /** True when the changes go through a running server. */
  readonly viaServer: boolean;
  /** The running server's configuration, without secrets (undefined: no server, or it cannot say). */
  serverConfig(): Promise<unknown>;
  close(): void;
}

/** How long to wait for a server that holds the lock but is not answering yet (it is starting). */
const STARTING_SERVER_WAIT_MS = 10_000;

export async function openLocalAdminStore(dataDir: string): Promise<OpenedStore> {
  preparePrivateDir(dataDir);
  const { socket } = dataDirPaths(dataDir);
  const deadline = Date.now() + STARTING_SERVER_WAIT_MS;
  for (;;) {
    const remote = await AdminSocketClient.connect(socket);
    if (remote)
      return {
        store: remote,
        viaServer: true,
        // A server from before this operation refuses it: the caller falls back and says so.
        serverConfig: () => remote.serverConfig().catch(() => undefined),
        close: () => remote.close(),
      };
    try {
      const lock = await lockDataDir(dataDir, 'admin');
      try {
        const store = LocalStore.open(dataDir, { replay: false });
        return {
          store,
          viaServer: false,
          serverConfig: async () => undefined,
          close: () => {
            store.close();
            lock.release();
          },
        };
      } catch (err) {
        lock.release();
        throw err;
      }
    } catch (err) {
      if (!(err instanceof DataDirError && err.heldByServer) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
