/** The port conformance suites against the local store, on a DATA_DIR as the server opens it. */
import type { LocalStore } from '../../local/local-store.js';
import { failableLocalStore } from './failable-local-store.js';
import {
  clientRegistryConformance,
  replayGuardConformance,
  secretStoreConformance,
  type Family,
  type SuiteClock,
} from './conformance.js';

async function localFamily<Port>(
  clock: SuiteClock,
  pick: (s: LocalStore) => Port,
): Promise<Family<Port>> {
  const { store, failNextWrite, close } = await failableLocalStore(clock, 'xaa-ports-');
  return { port: pick(store), failNextWrite, close };
}

replayGuardConformance('the local store', (clock) => localFamily(clock, (s) => s));
clientRegistryConformance('the local store', (clock) => localFamily(clock, (s) => s));
secretStoreConformance('the local store', (clock) => localFamily(clock, (s) => s));
