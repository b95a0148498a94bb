/** Jest global tear-down (moto project): stops the moto_server that moto-server.ts started. */
import type { MotoProcess } from './moto-server.js';

export default async function stopSharedMoto(): Promise<void> {
  const key = Symbol.for('xaa.test.moto'); // SHARED_MOTO, not imported: jest loads this file alone
  const moto = (globalThis as Record<symbol, MotoProcess | undefined>)[key];
  if (!moto) return;
  delete (globalThis as Record<symbol, unknown>)[key];
  delete process.env.MOTO_ENDPOINT;
  await moto.stop();
}
