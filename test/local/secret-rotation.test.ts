/**
 * AUTH-SECRET on the local store's files: a rotation's previous secret and its grace period survive
 * a restart, and a previous secret whose grace is over is dropped from the journal for good.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../local/local-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xaa-rotation-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const clock = { t: 1_900_000_000, now: () => clock.t };

function reopen<T>(use: (s: LocalStore) => Promise<T>): Promise<T> {
  const s = LocalStore.open(dir, { clock, replay: false });
  return use(s).finally(() => s.close());
}

test('the previous secret and its grace end survive a restart; once the grace is over a restart retires it', async () => {
  await reopen(async (s) => {
    await s.putSecret('client/a/1', 'the-first-secret-0123456789');
    expect(await s.rotateSecret('client/a/1', 'the-second-secret-0123456789', clock.t + 60)).toBe(
      true,
    );
  });
  await reopen(async (s) => {
    expect(await s.getClientSecret('client/a/1')).toEqual({
      current: 'the-second-secret-0123456789',
      previous: { secret: 'the-first-secret-0123456789', until: clock.t + 60 },
    });
  });
  clock.t += 60;
  await reopen(async (s) => {
    expect(await s.getClientSecret('client/a/1')).toEqual({
      current: 'the-second-secret-0123456789',
    });
  });
  // Compacted away: the retired secret is no longer on the disk either.
  expect(await readFile(join(dir, 'clients.jsonl'), 'utf8')).not.toContain(
    'the-first-secret-0123456789',
  );
});
