/**
 * The local store's files: what survives a reopen, what a torn or damaged journal does, how spent
 * jtis are swept, group commit under DATA_FSYNC, and DATA_DIR's lock. The port rules themselves are
 * in test/ports (the conformance suites); the process-level guarantees in test/bin/local-state.
 */
import { spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirError, lockDataDir, preparePrivateDir } from '../../local/data-dir.js';
import { serveAdminSocket } from '../../local/admin-socket.js';
import { Journal } from '../../local/journal.js';
import { LocalStore, REPLAY_WINDOW_SECONDS } from '../../local/local-store.js';
import type { ClientRecord } from '../../lambda/ports.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xaa-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const clock = {
  t: 1_900_000_000,
  now() {
    return this.t;
  },
};
const record = (clientId: string): ClientRecord => ({
  clientId,
  secretRef: `client/${clientId}/1`,
  scopes: ['read'],
  resources: ['https://api.example.com/'],
  enabled: true,
});

function reopen<T>(use: (s: LocalStore) => Promise<T>): Promise<T> {
  const s = LocalStore.open(dir, { clock });
  return use(s).finally(() => s.close());
}

test('clients, secrets and spent jtis written by one process are there for the next', async () => {
  await reopen(async (s) => {
    await s.add(record('a'));
    await s.putSecret('client/a/1', 'secret-a-0123456789');
    expect(await s.claim('https://idp', 'j1', clock.t + 300)).toBe(true);
    expect(await s.claim('https://idp', 'j2', clock.t + 300)).toBe(true);
    await s.release('https://idp', 'j2');
  });
  await reopen(async (s) => {
    expect(await s.get('a')).toEqual(record('a'));
    expect(await s.getSecret('client/a/1')).toBe('secret-a-0123456789');
    expect(await s.claim('https://idp', 'j1', clock.t + 300)).toBe(false);
    expect(await s.claim('https://idp', 'j2', clock.t + 300)).toBe(true);
  });
});

test('a release and a later claim in another expiry window replay in the right order', async () => {
  await reopen(async (s) => {
    expect(await s.claim('i', 'j', clock.t + 10 * REPLAY_WINDOW_SECONDS)).toBe(true);
    await s.release('i', 'j');
    expect(await s.claim('i', 'j', clock.t + 60)).toBe(true);
  });
  await reopen(async (s) => expect(await s.claim('i', 'j', clock.t + 60)).toBe(false));
});

test('a line cut off by a power cut is dropped, and the journal stays appendable', async () => {
  await reopen(async (s) => {
    await s.add(record('a'));
    expect(await s.claim('i', 'kept', clock.t + 300)).toBe(true);
  });
  const [window] = await readdir(join(dir, 'replay'));
  await appendFile(join(dir, 'clients.jsonl'), '{"client":{"clientId":"half');
  await appendFile(join(dir, 'replay', window!), '19000');
  await reopen(async (s) => {
    expect(await s.get('a')).toBeDefined();
    expect(await s.claim('i', 'kept', clock.t + 300)).toBe(false);
    await s.add(record('b'));
    expect(await s.claim('i', 'next', clock.t + 300)).toBe(true);
  });
  await reopen(async (s) => {
    expect((await s.list()).map((c) => c.clientId)).toEqual(['a', 'b']);
    expect(await s.claim('i', 'next', clock.t + 300)).toBe(false);
  });
});

test('a damaged line inside a journal stops the open with a message that quotes nothing', async () => {
  await writeFile(
    join(dir, 'clients.jsonl'),
    '{"secret":["client/a/1","do-not-print-me"]}\n{"client": oops do-not-print-me}\n{}\n',
    { mode: 0o600 },
  );
  let err: unknown;
  try {
    LocalStore.open(dir, { clock });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataDirError);
  expect((err as Error).message).toMatch(/clients\.jsonl line 2 is not valid JSON/);
  expect((err as Error).message).not.toContain('do-not-print-me');
});

test('clients.jsonl is compacted to what is live when the store opens', async () => {
  await reopen(async (s) => {
    for (let i = 0; i < 20; i++) {
      await s.add(record(`c${i}`));
      await s.putSecret(`client/c${i}/1`, `secret-${i}-0123456789`);
      if (i % 2) {
        await s.remove(`c${i}`);
        await s.deleteSecret(`client/c${i}/1`);
      }
    }
  });
  const before = (await readFile(join(dir, 'clients.jsonl'), 'utf8')).trim().split('\n');
  expect(before).toHaveLength(60);
  await reopen(async (s) => expect(s.clientCount).toBe(10));
  const after = (await readFile(join(dir, 'clients.jsonl'), 'utf8')).trim().split('\n');
  expect(after).toHaveLength(20);
  await reopen(async (s) => {
    expect((await s.list()).map((c) => c.clientId)).toHaveLength(10);
    expect(await s.getSecret('client/c4/1')).toBe('secret-4-0123456789');
  });
});

test('spent jtis are swept once their window is past: from memory and, file by file, from disk', async () => {
  const saved = clock.t;
  try {
    await reopen(async (s) => {
      for (let i = 0; i < 50; i++) await s.claim('i', `early${i}`, clock.t + 30);
      for (let i = 0; i < 50; i++)
        await s.claim('i', `late${i}`, clock.t + 5 * REPLAY_WINDOW_SECONDS);
      expect(s.spentCount).toBe(100);
      const files = await readdir(join(dir, 'replay'));
      expect(files.length).toBeGreaterThanOrEqual(2);
      clock.t += 2 * REPLAY_WINDOW_SECONDS;
      s.sweep();
      expect(s.spentCount).toBe(50);
      expect((await readdir(join(dir, 'replay'))).length).toBe(files.length - 1);
      // Swept or not, an expired jti is no longer spent; a live one still is.
      expect(await s.claim('i', 'early0', clock.t + 30)).toBe(true);
      expect(await s.claim('i', 'late0', clock.t + 30)).toBe(false);
    });
    // A window that ended while no server ran is deleted when the store opens.
    clock.t += 10 * REPLAY_WINDOW_SECONDS;
    await reopen(async (s) => {
      expect(s.spentCount).toBe(0);
      expect(await readdir(join(dir, 'replay'))).toEqual([]);
    });
  } finally {
    clock.t = saved;
  }
});

test('with DATA_FSYNC, concurrent claims share flushes and resolve only after one', async () => {
  const original = Journal.prototype.flush;
  let flushes = 0;
  Journal.prototype.flush = function (this: Journal) {
    flushes++;
    return original.call(this);
  };
  const s = LocalStore.open(dir, { clock, syncReplay: true });
  try {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.claim('i', `j${i % 20}`, clock.t + 300)),
    );
    expect(results.filter(Boolean)).toHaveLength(20);
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(flushes).toBeLessThan(20);
  } finally {
    s.close();
    Journal.prototype.flush = original;
  }
});

describe("DATA_DIR's lock", () => {
  test('a second server lock is refused with one line naming the holder', async () => {
    const first = await lockDataDir(dir, 'server');
    try {
      await expect(lockDataDir(dir, 'server')).rejects.toMatchObject({
        heldByServer: true,
        message: `another server (pid ${process.pid}) is using DATA_DIR ${dir}: stop it first, or give this one another DATA_DIR`,
      });
    } finally {
      first.release();
    }
    (await lockDataDir(dir, 'server')).release();
  });

  test('a live server not yet listening keeps its lock: an old socket file cannot make it look dead', async () => {
    // A crash left admin.sock behind; nobody listens on it.
    await writeFile(join(dir, 'admin.sock'), '', { mode: 0o600 });
    const first = await lockDataDir(dir, 'server');
    try {
      await expect(lockDataDir(dir, 'server')).rejects.toMatchObject({ heldByServer: true });
    } finally {
      first.release();
    }
  });

  test('an admin lock is waited for, then taken', async () => {
    const first = await lockDataDir(dir, 'admin');
    setTimeout(() => first.release(), 100);
    const second = await lockDataDir(dir, 'server', { waitForAdminMs: 5000 });
    second.release();
  });

  test('a lock of a process that is gone, or an unreadable one, is stale', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    for (const content of [
      JSON.stringify({ pid: Number(gone.stdout.trim()), role: 'server', nonce: 'x' }),
      'not json',
      '',
    ]) {
      await writeFile(join(dir, 'lock'), content, { mode: 0o600 });
      const lock = await lockDataDir(dir, 'server');
      expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({
        pid: process.pid,
      });
      lock.release();
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('lock'))).toEqual([]);
  });

  test('preparePrivateDir creates DATA_DIR 0700 and takes group and other access away', async () => {
    const fresh = join(dir, 'a', 'b');
    preparePrivateDir(fresh);
    const { stat, chmod } = await import('node:fs/promises');
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
    await chmod(fresh, 0o750);
    preparePrivateDir(fresh);
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
    await chmod(fresh, 0o770);
    expect(() => preparePrivateDir(fresh)).toThrow(/writable by other users \(mode 770\)/);
  });
});

test('a DATA_DIR too deep for a Unix socket is refused with one line saying so', async () => {
  const deep = join(dir, 'x'.repeat(120), 'admin.sock');
  await expect(
    serveAdminSocket(deep, Promise.resolve(LocalStore.memory()), () => undefined),
  ).rejects.toThrow(/DATA_DIR is too deep for its admin socket .* use a shorter DATA_DIR/);
});
