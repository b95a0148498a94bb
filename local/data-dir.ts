/**
 * DATA_DIR as a private place: a folder only its owner can enter (0700), files only its owner can
 * read (0600), and one lock file that names the process holding the state. File modes are the whole
 * access control of the local server, which is why nothing of its state is ever on a network port.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { lstat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';

/** A problem with DATA_DIR the user must fix: the message is one line, and says how. */
export class DataDirError extends Error {
  constructor(
    message: string,
    /** Set when a live server holds DATA_DIR. */
    readonly heldByServer = false,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

export const dataDirPaths = (dataDir: string) => ({
  signingKey: join(dataDir, 'signing-key.pem'),
  /** Clients and their secrets: an append-only journal, compacted when the server starts. */
  clients: join(dataDir, 'clients.jsonl'),
  /** Spent jtis: one journal per expiry window, deleted whole once the window is past. */
  replay: join(dataDir, 'replay'),
  /** The running server's admin endpoint: a Unix socket, never a TCP port. */
  socket: join(dataDir, 'admin.sock'),
  lock: join(dataDir, 'lock'),
});

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, '0');
const uid = () => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Creates DATA_DIR (0700) or checks the one there: refuses a folder another user owns or may write
 * (they could have planted or read state already), and takes group and other access away otherwise.
 */
export function preparePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = statSync(dir);
  if (!info.isDirectory()) throw new DataDirError(`DATA_DIR ${dir} is not a folder`);
  const me = uid();
  if (me === undefined) return; // no Unix permissions to rely on (Windows)
  if (info.uid !== me) {
    throw new DataDirError(
      `DATA_DIR ${dir} belongs to uid ${info.uid}, not to you (uid ${me}): refusing to keep state there; use a folder of your own`,
    );
  }
  if (info.mode & 0o022) {
    throw new DataDirError(
      `DATA_DIR ${dir} is writable by other users (mode ${octal(info.mode)}): refusing to keep state there; check what is in it, then chmod 700 it`,
    );
  }
  if (info.mode & 0o077) chmodSync(dir, 0o700);
  refuseOpenParents(dir, me);
}

/**
 * A parent another user may change lets that user move DATA_DIR aside and put a folder of their own
 * in its place between a check and the next use: the admin would then send a secret to their
 * socket. So every parent must be yours or root's and writable by no one else, unless it is sticky
 * (like /tmp): there only the owner of a folder may rename it, and the folder below was checked to
 * be yours or root's on the way up. Node has no SO_PEERCRED, so this and DATA_DIR's own mode are
 * what vouch for whoever answers on admin.sock.
 */
function refuseOpenParents(dir: string, me: number): void {
  for (let path = realpathSync(dir); path !== dirname(path);) {
    const parent = dirname(path);
    const info = statSync(parent);
    const why =
      info.uid !== me && info.uid !== 0
        ? `belongs to uid ${info.uid}`
        : info.mode & 0o022 && !(info.mode & 0o1000)
          ? `other users may write (mode ${octal(info.mode)})`
          : undefined;
    if (why) {
      throw new DataDirError(
        `DATA_DIR ${dir} is inside ${parent}, which ${why}: another user could swap DATA_DIR for a folder of their own; use a folder whose parents only you or root may change (a sticky one such as /tmp is fine)`,
      );
    }
    path = parent;
  }
}

/** A state file, if it exists, is ours and 0600 (a file created under another umask is repaired). */
export function preparePrivateFile(path: string): void {
  let info;
  try {
    info = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const me = uid();
  if (me === undefined) return;
  if (info.isSymbolicLink() || info.uid !== me) {
    throw new DataDirError(
      `${path} is ${info.isSymbolicLink() ? 'a symbolic link' : `owned by uid ${info.uid}`}: refusing to use it; remove it`,
    );
  }
  if (info.mode & 0o077) chmodSync(path, info.isDirectory() ? 0o700 : 0o600);
}

export type LockRole = 'server' | 'admin';

interface Holder {
  readonly pid: number;
  readonly role: LockRole;
  readonly nonce: string;
}

export interface DirLock {
  release(): void;
  /** False once the lock file is gone or replaced (DATA_DIR deleted under the holder). */
  stillHeld(): Promise<boolean>;
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof h.pid === 'number' && (h.role === 'server' || h.role === 'admin'))
      return h as Holder;
    return { pid: -1, role: 'admin', nonce: '' }; // unreadable: treated as stale below
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { pid: -1, role: 'admin', nonce: '' };
  }
}

/** Locks this process holds: its own pid in a lock is live only if it is one of these. */
const heldHere = new Set<string>();

function pidAlive(holder: Holder): boolean {
  const { pid } = holder;
  // Our own pid in a lock we do not hold: a previous life of a container, whose pids restart.
  if (pid === process.pid) return heldHere.has(holder.nonce);
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a connection to the Unix socket is refused: nobody listens on it. Any other failure (a
 * full backlog, EAGAIN) says nothing about the listener, so it does not count as refused.
 */
function socketRefused(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT'),
    );
  });
}

/**
 * Whether the process named in the lock still holds it. A live pid is not enough after a restart
 * of the machine or the container (pids are reused). A server removes any old socket file as soon
 * as it holds the lock and binds a new one later, so a live pid with a socket file that refuses
 * connections, twice, is another process that reuses the pid. Anything short of that is a holder:
 * taking a live server's lock would leave two replay stores on one DATA_DIR.
 */
async function holderAlive(holder: Holder, socket: string): Promise<boolean> {
  if (!pidAlive(holder)) return false;
  if (holder.role !== 'server' || !existsSync(socket) || !(await socketRefused(socket)))
    return true;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return !(existsSync(socket) && (await socketRefused(socket)));
}

/**
 * Takes DATA_DIR's lock for this process. The lock file is made complete under another name and
 * then hard-linked into place, so it is never seen half-written; a lock whose holder is gone is
 * moved aside and checked to be the one that was judged stale before it is deleted.
 */
export async function lockDataDir(
  dataDir: string,
  role: LockRole,
  options: { waitForAdminMs?: number } = {},
): Promise<DirLock> {
  const { lock, socket } = dataDirPaths(dataDir);
  const mine: Holder = { pid: process.pid, role, nonce: randomBytes(8).toString('hex') };
  const deadline = Date.now() + (options.waitForAdminMs ?? 5000);
  for (;;) {
    const tmp = `${lock}.${mine.nonce}`;
    writeFileSync(tmp, JSON.stringify(mine) + '\n', { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, lock);
      heldHere.add(mine.nonce);
      const taken = statSync(lock);
      // A socket file left by a server that is gone: remove it before anything else, so no other
      // process mistakes this live server, not yet listening, for a dead one.
      if (role === 'server') rmSync(socket, { force: true });
      return {
        release: () => {
          heldHere.delete(mine.nonce);
          if (readHolder(lock)?.nonce === mine.nonce) unlinkSync(lock);
        },
        stillHeld: () => sameFile(lock, taken),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    const holder = readHolder(lock);
    if (!holder) continue;
    if (!(await holderAlive(holder, socket))) {
      removeStale(lock, holder);
      continue;
    }
    if (holder.role === 'server') {
      throw new DataDirError(
        `another server (pid ${holder.pid}) is using DATA_DIR ${dataDir}: stop it first, or give this one another DATA_DIR`,
        true,
      );
    }
    // An admin command holds it for a moment.
    if (Date.now() > deadline) {
      throw new DataDirError(
        `DATA_DIR ${dataDir} is locked by pid ${holder.pid}; if no server or admin command is running, delete ${lock}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether `path` is still the file `was` (not deleted, not replaced by another). */
export async function sameFile(path: string, was: { ino: number; dev: number }): Promise<boolean> {
  try {
    const now = await lstat(path);
    return now.ino === was.ino && now.dev === was.dev;
  } catch {
    return false; // gone, or DATA_DIR is no longer a folder we may enter
  }
}

function removeStale(lock: string, stale: Holder): void {
  const aside = `${lock}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(lock, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else cleared it
    throw err;
  }
  const moved = readHolder(aside);
  if (moved && moved.nonce !== stale.nonce) {
    // Between reading and moving, another process cleared the stale lock and took a fresh one:
    // put theirs back.
    try {
      linkSync(aside, lock);
    } catch {
      // a third process holds it now; theirs stands
    }
  }
  unlinkSync(aside);
}
