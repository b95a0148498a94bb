/**
 * Client secrets on a laptop: one JSON file in DATA_DIR, mode 0600, written atomically. Read again
 * whenever it changes on disk, so a client added by `npm run admin` works on its next request.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore } from '../ports.js';

export class FileSecretStore implements SecretStore {
  private cache: { mtimeMs: number; size: number; secrets: Record<string, string> } | undefined;
  /** Writes in this process, one after another; a lock file keeps other processes out meanwhile. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  async getSecret(ref: string, options: { refresh?: boolean } = {}): Promise<string | undefined> {
    const secrets = await this.load(options.refresh ?? false);
    return Object.hasOwn(secrets, ref) ? secrets[ref] : undefined;
  }

  putSecret(ref: string, secret: string): Promise<void> {
    return this.update((secrets) => ({ ...secrets, [ref]: secret }));
  }

  deleteSecret(ref: string): Promise<void> {
    return this.update((secrets) =>
      Object.fromEntries(Object.entries(secrets).filter(([k]) => k !== ref)),
    );
  }

  /** Read-modify-write under the lock, so concurrent registrations never lose one another. */
  private update(
    change: (secrets: Record<string, string>) => Record<string, string>,
  ): Promise<void> {
    const run = this.writes.then(() =>
      this.withLock(async () => this.write(change(await this.load(true)))),
    );
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async withLock<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const lock = `${this.path}.lock`;
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (Date.now() > deadline)
          throw new Error(`${lock} is held by another process (remove it if none is running)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async load(fresh: boolean): Promise<Record<string, string>> {
    let info;
    try {
      info = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const c = this.cache;
    if (!fresh && c && c.mtimeMs === info.mtimeMs && c.size === info.size) return c.secrets;
    let secrets: Record<string, string>;
    try {
      secrets = JSON.parse(await readFile(this.path, 'utf8')) as Record<string, string>;
    } catch {
      // Never the parser's message: it quotes the text around the fault, which is secrets.
      throw new Error(`${this.path} is not valid JSON`);
    }
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, secrets };
    return secrets;
  }

  private async write(secrets: Record<string, string>): Promise<void> {
    const tmp = `${this.path}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
    this.cache = undefined;
  }
}
