/**
 * How `npm run admin` reaches a running local server: a Unix socket inside DATA_DIR (0600, in a
 * 0700 folder), so only DATA_DIR's owner can connect; no TCP port is involved. One JSON line per
 * request and per answer. The server applies each change to its store (journal, then memory)
 * before answering, so the next token request sees it.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ClientRecordStore, WritableSecretStore } from './admin/client-admin.js';
import { DataDirError, sameFile } from './data-dir.js';

export type AdminStore = ClientRecordStore & WritableSecretStore;

/** The store operations the socket carries (an admin command added later adds its own here). */
const OPERATIONS = [
  'get',
  'add',
  'list',
  'remove',
  'setEnabled',
  'update',
  'putSecret',
  'deleteSecret',
  'rotateSecret',
] as const satisfies ReadonlyArray<keyof AdminStore>;
/** Not the store's: the server's effective configuration, without secrets (`assertion check`). */
const SERVER_CONFIG = 'serverConfig';
type Operation = (typeof OPERATIONS)[number];

const MAX_LINE_BYTES = 1 << 20;
/** sun_path holds 108 bytes on Linux, 104 on macOS, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

interface Request {
  id: number;
  op: Operation;
  args: unknown[];
}
type Answer = { id: number; result?: unknown } | { id: number; error: string };

/** Splits a stream into lines, refusing (by closing) any line longer than MAX_LINE_BYTES. */
function onLines(socket: Socket, handle: (line: string) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      handle(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE_BYTES) socket.destroy();
  });
}

export interface AdminSocketServer {
  close(): Promise<void>;
  /** False once the socket file is gone or replaced (DATA_DIR deleted under the server). */
  stillBound(): Promise<boolean>;
}

/**
 * Listens on `path` (replacing a socket file a killed server left) for `store`'s operations.
 * `store` may still be loading: requests wait for it.
 */
export async function serveAdminSocket(
  path: string,
  store: Promise<AdminStore>,
  onError: (err: unknown) => void,
  /** What the server runs with, minus its secrets: the admin checks against it, not its own env. */
  serverConfig?: unknown,
): Promise<AdminSocketServer> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new DataDirError(
      `DATA_DIR is too deep for its admin socket (${path} is over ${MAX_SOCKET_PATH_BYTES} bytes, the Unix limit): use a shorter DATA_DIR`,
    );
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const server: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    onLines(socket, (line) => {
      void answer(line).then((a) => socket.writable && socket.write(JSON.stringify(a) + '\n'));
    });
  });
  const answer = async (line: string): Promise<Answer> => {
    let request: Request;
    try {
      request = JSON.parse(line) as Request;
    } catch {
      return { id: -1, error: 'not a JSON request' };
    }
    const { id, op, args } = request;
    if ((op as string) === SERVER_CONFIG && serverConfig !== undefined)
      return { id, result: serverConfig };
    if (!(OPERATIONS as readonly string[]).includes(op) || !Array.isArray(args))
      return { id, error: `unknown operation ${JSON.stringify(op)}` };
    try {
      const target = await store;
      const method = target[op] as (...a: unknown[]) => Promise<unknown>;
      return { id, result: await method.apply(target, args) };
    } catch (err) {
      onError(err);
      return { id, error: err instanceof Error ? err.message : String(err) };
    }
  };
  server.listen(path);
  await once(server, 'listening');
  // The folder (0700) already keeps others out; the socket's own mode says so too.
  await chmod(path, 0o600);
  const bound = await lstat(path);
  return {
    close: async () => {
      // Closing a listening Unix socket unlinks its path, whatever is there now: a socket another
      // server bound after DATA_DIR was deleted under this one stays, and this one is let go.
      const now = await lstat(path).catch(() => undefined);
      if (now && (now.ino !== bound.ino || now.dev !== bound.dev)) return void server.unref();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    stillBound: () => sameFile(path, bound),
  };
}

const CLOSED = () => new Error('the running server closed the admin connection');

/** The running server's store, through its socket. */
export class AdminSocketClient implements AdminStore {
  private next = 0;
  /** After the connection closes, a call fails at once instead of waiting for an answer. */
  private closed = false;
  private readonly waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly socket: Socket) {
    onLines(socket, (line) => {
      const a = JSON.parse(line) as Answer;
      const w = this.waiting.get(a.id);
      this.waiting.delete(a.id);
      if ('error' in a) w?.reject(new Error(`the running server refused: ${a.error}`));
      else w?.resolve(a.result);
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(CLOSED());
      this.waiting.clear();
    });
  }

  /** Connects, or resolves undefined when no server answers on `path`. */
  static connect(path: string): Promise<AdminSocketClient | undefined> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        socket.on('error', () => socket.destroy());
        resolve(new AdminSocketClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined);
        else reject(err);
      });
    });
  }

  /** The running server's effective configuration (without secrets). */
  serverConfig(): Promise<unknown> {
    return this.call(SERVER_CONFIG as Operation);
  }

  private call<T>(op: Operation, ...args: unknown[]): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(CLOSED());
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify({ id, op, args } satisfies Request) + '\n');
    });
  }

  get: AdminStore['get'] = (clientId) => this.call('get', clientId);
  add: AdminStore['add'] = (client) => this.call('add', client);
  list: AdminStore['list'] = () => this.call('list');
  remove: AdminStore['remove'] = (clientId) => this.call('remove', clientId);
  setEnabled: AdminStore['setEnabled'] = (clientId, enabled) =>
    this.call('setEnabled', clientId, enabled);
  update: AdminStore['update'] = (client) => this.call('update', client);
  putSecret: AdminStore['putSecret'] = (ref, secret) => this.call('putSecret', ref, secret);
  rotateSecret: AdminStore['rotateSecret'] = (ref, secret, previousUntil) =>
    // JSON has no undefined (an array would carry null): leave the argument out instead.
    this.call('rotateSecret', ref, secret, ...(previousUntil === undefined ? [] : [previousUntil]));
  deleteSecret: AdminStore['deleteSecret'] = (ref) => this.call('deleteSecret', ref);

  close(): void {
    this.socket.end();
  }
}
