/**
 * What every demo shares: the printed steps and checks, a temporary DATA_DIR, the development IdP
 * on loopback, and clean-ups that run last-in first-out whatever happened.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIdp } from '../../local/dev-idp.js';
import { KeyFileSigner } from '../../lambda/key-file-signer.js';

export type Print = (line: string) => void;

export class DemoStage {
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private passed = true;

  constructor(private readonly print: Print) {}

  /** True only if every check so far passed. */
  get ok(): boolean {
    return this.passed;
  }

  readonly step = (title: string): void => this.print(`\n\u2500\u2500 ${title}`);

  readonly expectThat = (what: string, passed: boolean, detail = ''): boolean => {
    this.print(`  ${passed ? '\u2714' : '\u2718'} ${what}${detail ? ` (${detail})` : ''}`);
    this.passed &&= passed;
    return passed;
  };

  /** Runs `cleanup` when the demo ends, before the ones registered earlier. */
  onClose(cleanup: () => Promise<unknown>): void {
    this.cleanups.unshift(cleanup);
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups) await cleanup().catch(() => undefined);
  }

  /** A DATA_DIR of the demo's own, removed at the end. */
  async dataDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.onClose(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The development IdP, with a fresh key, on a loopback port of its own. */
  async devIdp(): Promise<DevIdp> {
    const key = await KeyFileSigner.fromPrivateKey(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    );
    const port = await freePort();
    const idp = new DevIdp(`http://localhost:${port}`, key);
    const server = await idp.listen(port);
    this.onClose(() => new Promise((resolve) => server.close(resolve)));
    return idp;
  }
}

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
