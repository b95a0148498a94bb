/**
 * Append-only journals of text lines. An append is one write(2) of whole lines before the caller
 * is answered: once it returns, the lines are in the kernel's page cache and survive the process
 * being killed at any moment (kill -9, a crash, an OOM kill). They survive a power cut only once
 * the kernel has written them back, or at once when the journal is opened with `sync`.
 *
 * Synchronous on purpose: an append of a line to the page cache takes microseconds, which is less
 * than a round trip to libuv's thread pool, and it keeps "recorded" and "answered" in one step.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** The one system call that can fail under the store: tests swap it to inject faults. */
export type WriteFn = (fd: number, data: string) => void;
export const writeAll: WriteFn = (fd, data) => {
  const buffer = Buffer.from(data, 'utf8');
  for (let off = 0; off < buffer.length;) off += writeSync(fd, buffer, off);
};

export class Journal {
  private constructor(
    readonly path: string,
    private fd: number,
    /** Bytes of whole lines in the file: where a failed append is cut back to. */
    private size: number,
    private readonly sync: boolean,
    private readonly write: WriteFn,
  ) {}

  /**
   * Opens (creating, 0600) the journal and returns its complete lines. A last line without its
   * newline was cut off mid-write by a power cut: it was never acknowledged, so it is dropped and
   * the file truncated to the last whole line before anything is appended.
   */
  static open(
    path: string,
    options: { sync?: boolean; write?: WriteFn } = {},
  ): { journal: Journal; lines: string[] } {
    const fd = openSync(path, 'a+', 0o600);
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    const size = Buffer.byteLength(text.slice(0, end));
    if (end < text.length) ftruncateSync(fd, size);
    const lines = text.slice(0, end).split('\n');
    lines.pop();
    return {
      journal: new Journal(path, fd, size, options.sync ?? false, options.write ?? writeAll),
      lines,
    };
  }

  /** Appends whole lines (each ending in '\n'); throws, having recorded nothing usable, on failure. */
  append(lines: string): void {
    try {
      this.write(this.fd, lines);
      if (this.sync) fdatasyncSync(this.fd);
    } catch (err) {
      // A part-written line must not run into the next append (ENOSPC can stop a write midway).
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the file is unusable; the next append fails too
      }
      throw err;
    }
    this.size += Buffer.byteLength(lines);
  }

  /** Flushes what was appended so far to the disk, on libuv's thread pool. */
  flush(): Promise<void> {
    if (this.fd < 0) return Promise.resolve();
    return new Promise((resolve, reject) =>
      fdatasync(this.fd, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Replaces a file's content all at once: a crash leaves either the old file or the new, whole. */
export function replaceFile(path: string, content: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeAll(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** Makes a rename or unlink in `dir` durable (a no-op where directories cannot be fsynced). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
