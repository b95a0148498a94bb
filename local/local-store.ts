/**
 * The local server's store: clients, their secrets and spent jtis held in this process's memory,
 * every change appended to a journal in DATA_DIR before it is acknowledged. One process (the one
 * holding DATA_DIR's lock) owns it; an admin command reaches it through the server's Unix socket.
 *
 * Lookups are Map reads on the request's own thread, and a claim is one hash, one Map write and
 * one append to the page cache: no network hop, no serialisation format, no second thread.
 * Atomicity comes from JavaScript's single thread: check-and-set in one synchronous step.
 */
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientRecordStore, WritableSecretStore } from './admin/client-admin.js';
import {
  systemClock,
  type ClientRecord,
  type ClientRegistry,
  type ClientSecret,
  type Clock,
  type ReplayGuard,
  type SecretStore,
} from '../lambda/ports.js';
import { replayKey } from '../lambda/replay-key.js';
import { dataDirPaths, DataDirError, preparePrivateFile } from './data-dir.js';
import { Journal, replaceFile, syncDir, writeAll, type WriteFn } from './journal.js';

/** Spent jtis are journaled per window of expiry times; a window's file goes once it is all past. */
export const REPLAY_WINDOW_SECONDS = 120;
const SWEEP_EVERY_MS = 30_000;

export interface LocalStoreOptions {
  readonly clock?: Clock;
  /**
   * Flush spent-jti appends to the disk before a claim resolves (client changes always are): a
   * claim then survives a power cut too. Claims that arrive together share one fdatasync, run on
   * the thread pool (group commit), so the price is latency more than throughput.
   */
  readonly syncReplay?: boolean;
  /** Open the replay journals (the server); an admin command needs only the clients. */
  readonly replay?: boolean;
  /** The write(2) the journals use: tests inject faults through it. */
  readonly write?: WriteFn;
}

/** One entry of clients.jsonl. */
type ClientEntry =
  | { client: ClientRecord }
  | { removeClient: string }
  /** A secret's whole state; a rotation's entry also names the previous secret and its grace. */
  | { secret: [ref: string, value: string, previous?: string, previousUntil?: number] }
  | { removeSecret: string };

const windowOf = (expiresAt: number) => Math.floor(expiresAt / REPLAY_WINDOW_SECONDS);

/**
 * A frozen copy, so no caller can change a stored record in place. Every field is copied (a field
 * added to ClientRecord later is kept without a change here); absent optional fields stay absent.
 */
function freezeRecord(c: ClientRecord): ClientRecord {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c)) {
    if (value !== undefined) copy[key] = Array.isArray(value) ? Object.freeze([...value]) : value;
  }
  return Object.freeze(copy) as unknown as ClientRecord;
}

export class LocalStore
  implements ClientRegistry, SecretStore, ReplayGuard, ClientRecordStore, WritableSecretStore
{
  private readonly clients = new Map<string, ClientRecord>();
  private readonly secrets = new Map<string, ClientSecret>();
  /** A journal entry named a previous secret whose grace had ended: the journal needs compacting. */
  private retiredSecrets = false;
  /** Spent jti key → its record's expiry (epoch seconds). */
  private readonly spent = new Map<string, number>();
  /** Expiry window → the keys claimed in it, so a sweep touches only what it deletes. */
  private readonly windows = new Map<number, Set<string>>();
  private readonly replayJournals = new Map<number, Journal>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Group commit: journals written since the last flush began, and the flush that will cover them. */
  private readonly unflushed = new Set<Journal>();
  private nextFlush: Promise<void> | undefined;

  private constructor(
    private readonly clock: Clock,
    private clientJournal: Journal | undefined,
    private readonly replayDir: string | undefined,
    private readonly options: LocalStoreOptions,
  ) {}

  /** A store in memory only (tests and the benchmark's in-process runs). */
  static memory(clock: Clock = systemClock): LocalStore {
    return new LocalStore(clock, undefined, undefined, {});
  }

  /**
   * Opens the store in DATA_DIR. The caller holds DATA_DIR's lock (lockDataDir) and has checked
   * the folder (preparePrivateDir). Synchronous: the server answers nothing before it is loaded.
   */
  static open(dataDir: string, options: LocalStoreOptions = {}): LocalStore {
    const paths = dataDirPaths(dataDir);
    preparePrivateFile(paths.clients);
    const { journal, lines } = Journal.open(paths.clients, { sync: true, write: options.write });
    const store = new LocalStore(
      options.clock ?? systemClock,
      journal,
      options.replay === false ? undefined : paths.replay,
      options,
    );
    lines.forEach((line, i) => {
      let entry: ClientEntry;
      try {
        entry = JSON.parse(line) as ClientEntry;
      } catch {
        journal.close();
        // Never the parser's message: it quotes the text around the fault, which may be a secret.
        throw new DataDirError(`${paths.clients} line ${i + 1} is not valid JSON: repair it`);
      }
      store.apply(entry);
    });
    if (lines.length > store.clients.size + store.secrets.size || store.retiredSecrets)
      store.compactClients();
    if (store.replayDir) store.loadReplay(store.replayDir);
    return store;
  }

  // ---- ClientRegistry, ClientRecordStore -------------------------------------------------------

  async get(clientId: string): Promise<ClientRecord | undefined> {
    return this.clients.get(clientId);
  }

  async add(client: ClientRecord): Promise<boolean> {
    if (this.clients.has(client.clientId)) return false;
    this.record({ client: freezeRecord(client) });
    return true;
  }

  async setEnabled(clientId: string, enabled: boolean): Promise<boolean> {
    const current = this.clients.get(clientId);
    if (!current) return false;
    this.record({ client: freezeRecord({ ...current, enabled }) });
    return true;
  }

  async list(): Promise<ClientRecord[]> {
    return [...this.clients.values()].sort((a, b) => a.clientId.localeCompare(b.clientId));
  }

  /** Replaces a registered client's record; resolves false when it is not registered. */
  async update(client: ClientRecord): Promise<boolean> {
    if (!this.clients.has(client.clientId)) return false;
    this.record({ client: freezeRecord(client) });
    return true;
  }

  async remove(clientId: string): Promise<ClientRecord | undefined> {
    const current = this.clients.get(clientId);
    if (current) this.record({ removeClient: clientId });
    return current;
  }

  // ---- SecretStore, WritableSecretStore --------------------------------------------------------

  /** Always current: every change reaches this process's memory before it is acknowledged. */
  async getClientSecret(ref: string): Promise<ClientSecret | undefined> {
    return this.secrets.get(ref);
  }

  /** The current secret alone. */
  async getSecret(ref: string): Promise<string | undefined> {
    return this.secrets.get(ref)?.current;
  }

  async putSecret(ref: string, secret: string): Promise<void> {
    this.record({ secret: [ref, secret] });
  }

  /**
   * AUTH-SECRET: `secret` becomes current; the one it replaces stays valid until `previousUntil`
   * (epoch seconds), or not at all when that is absent. Resolves false when there is no secret.
   */
  async rotateSecret(ref: string, secret: string, previousUntil?: number): Promise<boolean> {
    const old = this.secrets.get(ref);
    if (!old) return false;
    this.record({
      secret:
        previousUntil === undefined ? [ref, secret] : [ref, secret, old.current, previousUntil],
    });
    return true;
  }

  async deleteSecret(ref: string): Promise<void> {
    if (this.secrets.has(ref)) this.record({ removeSecret: ref });
  }

  // ---- ReplayGuard -----------------------------------------------------------------------------

  async claim(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    const key = replayKey(issuer, jti);
    const previous = this.spent.get(key);
    // As on DynamoDB: a record past its expiry no longer counts, swept or not.
    if (previous !== undefined && previous >= this.clock.now()) return false;
    const expiry = Math.ceil(expiresAt);
    const window = windowOf(expiry);
    // On disk before anyone hears of it: a claim the journal did not take is no claim.
    const journal = this.replayJournal(window);
    journal?.append(`${expiry} ${key}\n`);
    if (previous !== undefined) this.windows.get(windowOf(previous))?.delete(key);
    this.spent.set(key, expiry);
    let keys = this.windows.get(window);
    if (!keys) this.windows.set(window, (keys = new Set()));
    keys.add(key);
    // Should the flush fail, the jti stays spent here (the safe side) and the claim rejects.
    if (journal && this.options.syncReplay) await this.flushed(journal);
    return true;
  }

  /** Resolves once a flush that began after this call has covered `journal`. */
  private flushed(journal: Journal): Promise<void> {
    this.unflushed.add(journal);
    this.nextFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextFlush = undefined;
      const batch = [...this.unflushed];
      this.unflushed.clear();
      return Promise.all(batch.map((j) => j.flush())).then(() => undefined);
    });
    return this.nextFlush;
  }

  async release(issuer: string, jti: string): Promise<void> {
    const key = replayKey(issuer, jti);
    const expiry = this.spent.get(key);
    if (expiry === undefined) return;
    const window = windowOf(expiry);
    this.replayJournal(window)?.append(`- ${key}\n`);
    this.spent.delete(key);
    this.windows.get(window)?.delete(key);
  }

  /**
   * Forgets every spent jti whose window is wholly past, and deletes those windows' journals:
   * a file per window means expiry never rewrites a journal.
   */
  sweep(): void {
    const current = windowOf(this.clock.now());
    for (const [window, keys] of this.windows) {
      if (window >= current) continue;
      for (const key of keys) {
        const expiry = this.spent.get(key);
        if (expiry !== undefined && windowOf(expiry) === window) this.spent.delete(key);
      }
      this.windows.delete(window);
    }
    for (const [window, journal] of this.replayJournals) {
      if (window >= current) continue;
      journal.close();
      this.replayJournals.delete(window);
    }
    if (this.replayDir) {
      for (const name of readdirSync(this.replayDir)) {
        const window = Number(name.replace(/\.log$/, ''));
        if (Number.isInteger(window) && window < current) unlinkSync(join(this.replayDir, name));
      }
    }
  }

  /** Spent jtis held in memory (swept ones excluded). */
  get spentCount(): number {
    return this.spent.size;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get secretCount(): number {
    return this.secrets.size;
  }

  /** Sweeps on a timer that does not keep the process alive. */
  startSweeping(): void {
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS).unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.clientJournal?.close();
    for (const journal of this.replayJournals.values()) journal.close();
    this.replayJournals.clear();
  }

  // ---- persistence -----------------------------------------------------------------------------

  /** Journal first, memory second: a change the disk refused is not made. */
  private record(entry: ClientEntry): void {
    this.clientJournal?.append(JSON.stringify(entry) + '\n');
    this.apply(entry);
  }

  private apply(entry: ClientEntry): void {
    if ('client' in entry) this.clients.set(entry.client.clientId, freezeRecord(entry.client));
    else if ('removeClient' in entry) this.clients.delete(entry.removeClient);
    else if ('secret' in entry) {
      const [ref, current, previous, until] = entry.secret;
      const inGrace = previous !== undefined && until !== undefined && until > this.clock.now();
      // AUTH-SECRET: a previous secret whose grace period is over is retired, here and (by the
      // compaction this asks for) on the disk.
      if (previous !== undefined && !inGrace) this.retiredSecrets = true;
      this.secrets.set(
        ref,
        inGrace ? { current, previous: { secret: previous, until } } : { current },
      );
    } else if ('removeSecret' in entry) this.secrets.delete(entry.removeSecret);
  }

  /** Rewrites clients.jsonl with only what is live, then appends to the new file. */
  private compactClients(): void {
    const entries: ClientEntry[] = [
      // A previous secret whose grace period is over is retired here for good.
      ...[...this.secrets].map(([ref, { current, previous }]): ClientEntry => ({
        secret:
          previous && previous.until > this.clock.now()
            ? [ref, current, previous.secret, previous.until]
            : [ref, current],
      })),
      ...[...this.clients.values()].map((client): ClientEntry => ({ client })),
    ];
    const journal = this.clientJournal!;
    replaceFile(journal.path, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    journal.close();
    this.clientJournal = Journal.open(journal.path, {
      sync: true,
      write: this.options.write,
    }).journal;
  }

  private loadReplay(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    preparePrivateFile(dir);
    const current = windowOf(this.clock.now());
    const files = readdirSync(dir)
      .map((name) => ({ name, window: Number(name.replace(/\.log$/, '')) }))
      .filter(({ name, window }) => name.endsWith('.log') && Number.isInteger(window));
    for (const { name, window } of files) {
      const path = join(dir, name);
      if (window < current) {
        unlinkSync(path);
        continue;
      }
      preparePrivateFile(path);
      const { journal, lines } = Journal.open(path, {
        write: this.options.write,
      });
      this.replayJournals.set(window, journal);
      // A claim and its release share a window, so each file replays in its own order; across
      // files, a key can be live in one only (a later claim needs the earlier one expired).
      const live = new Map<string, number>();
      for (const [i, line] of lines.entries()) {
        const [head, key] = line.split(' ');
        if (!key || (head !== '-' && !/^\d+$/.test(head!))) {
          this.close();
          throw new DataDirError(`${path} line ${i + 1} is damaged: repair or delete it`);
        }
        if (head === '-') live.delete(key);
        else live.set(key, Number(head));
      }
      let keys = this.windows.get(window);
      if (!keys) this.windows.set(window, (keys = new Set()));
      for (const [key, expiry] of live) {
        if ((this.spent.get(key) ?? -1) >= expiry) continue;
        this.spent.set(key, expiry);
        keys.add(key);
      }
    }
    syncDir(dir);
  }

  private replayJournal(window: number): Journal | undefined {
    if (!this.replayDir) return undefined;
    let journal = this.replayJournals.get(window);
    if (!journal) {
      const path = join(this.replayDir, `${window}.log`);
      journal = Journal.open(path, {
        write: this.options.write ?? writeAll,
      }).journal;
      // The file's name must be durable before the lines in it can be.
      syncDir(this.replayDir);
      this.replayJournals.set(window, journal);
    }
    return journal;
  }
}
