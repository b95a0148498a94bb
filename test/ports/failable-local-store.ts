/**
 * A LocalStore on a fresh DATA_DIR whose next journal write can be made to fail like a full disk:
 * what both local families (test/ports/local.test.ts, test/ports/channel.test.ts) stand on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAll, type WriteFn } from '../../local/journal.js';
import { LocalStore } from '../../local/local-store.js';
import type { SuiteClock } from './conformance.js';

export async function failableLocalStore(clock: SuiteClock, prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let fail = false;
  const write: WriteFn = (fd, data) => {
    if (fail) {
      fail = false;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    writeAll(fd, data);
  };
  const store = LocalStore.open(dir, { clock, write });
  return {
    store,
    failNextWrite: () => void (fail = true),
    close: async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
