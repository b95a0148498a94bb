/** The port conformance suites against the local store, on a DATA_DIR as the server opens it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAll, type WriteFn } from '../../lambda/local/journal.js';
import { LocalStore } from '../../lambda/local/local-store.js';
import {
  clientRegistryConformance,
  replayGuardConformance,
  secretStoreConformance,
  type Family,
  type SuiteClock,
} from './conformance.js';

/** A store on a fresh DATA_DIR whose next journal write can be made to fail like a full disk. */
async function localFamily<Port>(clock: SuiteClock, pick: (s: LocalStore) => Port) {
  const dir = await mkdtemp(join(tmpdir(), 'xaa-ports-'));
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
    port: pick(store),
    failNextWrite: () => void (fail = true),
    close: async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  } satisfies Family<Port>;
}

replayGuardConformance('the local store', (clock) => localFamily(clock, (s) => s));
clientRegistryConformance('the local store', (clock) => localFamily(clock, (s) => s));
secretStoreConformance('the local store', (clock) => localFamily(clock, (s) => s));
