/**
 * Client secrets on a laptop: one JSON file in DATA_DIR, mode 0600, written atomically. Read again
 * whenever it changes on disk, so a client added by `npm run admin` works on its next request.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore } from '../ports.js';

export class FileSecretStore implements SecretStore {
  private cache: { mtimeMs: number; size: number; secrets: Record<string, string> } | undefined;

  constructor(private readonly path: string) {}

  async getSecret(ref: string, options: { refresh?: boolean } = {}): Promise<string | undefined> {
    const secrets = await this.load(options.refresh ?? false);
    return Object.hasOwn(secrets, ref) ? secrets[ref] : undefined;
  }

  async putSecret(ref: string, secret: string): Promise<void> {
    const secrets = { ...(await this.load(true)), [ref]: secret };
    await this.write(secrets);
  }

  async deleteSecret(ref: string): Promise<void> {
    const secrets = { ...(await this.load(true)) };
    delete secrets[ref];
    await this.write(secrets);
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
    const secrets = JSON.parse(await readFile(this.path, 'utf8')) as Record<string, string>;
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, secrets };
    return secrets;
  }

  private async write(secrets: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
    this.cache = undefined;
  }
}
