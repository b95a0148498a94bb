/**
 * DATA_DIR's parents: one that another user may change would let that user swap DATA_DIR for a
 * folder of their own between a check and its use (and receive the secret `clients add` sends to
 * the socket), so the server and the admin refuse it with one line; a sticky one such as /tmp is
 * fine when the folder below it is ours.
 */
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { DataDirError, preparePrivateDir } from '../../local/data-dir.js';
import { startLocalServer } from '../../local/server.js';
import { MemoryLog } from '../support/harness.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'xaa-parents-'));
});
afterAll(() => rm(base, { recursive: true, force: true }));

const refusal = (dir: string, parent: string, why: string) =>
  new RegExp(
    `^DATA_DIR ${dir} is inside ${parent}, which ${why}: another user could swap DATA_DIR for a folder of their own; use a folder whose parents only you or root may change \\(a sticky one such as /tmp is fine\\)$`,
  );

test('a parent other users may write: the server and the admin refuse it in one line', async () => {
  const shared = join(base, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o777);
  const dataDir = join(shared, 'state');
  const message = refusal(dataDir, shared, 'other users may write \\(mode 777\\)');

  const started = startLocalServer(
    loadLocalConfig({ DATA_DIR: dataDir, PORT: '0', TRUSTED_ISSUERS: '[]' }),
    { logger: new MemoryLog() },
  );
  await expect(started).rejects.toThrow(DataDirError);
  await expect(started).rejects.toThrow(message);

  const lines: string[] = [];
  const admin = await runAdmin(['clients', 'list'], { DATA_DIR: dataDir }, (l) => lines.push(l))
    .then(() => undefined)
    .catch((err: unknown) => err);
  expect(admin).toBeInstanceOf(AdminError);
  expect((admin as AdminError).message).toMatch(message);
  expect(lines).toEqual([]);
});

test('a sticky parent (as /tmp is) is fine when the folder below it is ours', async () => {
  const sticky = join(base, 'sticky');
  await mkdir(sticky);
  await chmod(sticky, 0o1777);
  expect(() => preparePrivateDir(join(sticky, 'mine', 'state'))).not.toThrow();
});

(process.getuid?.() === 0 ? test : test.skip)(
  "a parent that belongs to another user is refused, even in a sticky folder: it is that user's to rename",
  async () => {
    const sticky = join(base, 'sticky-theirs');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    const theirs = join(sticky, 'theirs');
    await mkdir(theirs, { mode: 0o755 });
    await chown(theirs, 65534, 65534);
    const dataDir = join(theirs, 'state');
    await mkdir(dataDir, { mode: 0o700 }); // ours, made there before they locked it down
    expect(() => preparePrivateDir(dataDir)).toThrow(
      refusal(dataDir, theirs, 'belongs to uid 65534'),
    );
  },
);
