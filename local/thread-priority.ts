/**
 * The local server's helper threads run at a lower priority than its event loop (Linux only).
 *
 * One process serves every request through one event-loop thread, and signs each token on
 * libuv's thread pool. Where threads outnumber cores (four pool threads, V8's helpers, the loop,
 * and whatever else the machine runs, on two cores) the scheduler shares a core fairly between
 * the loop and a pool thread, and every time a signature preempts the loop, all the requests in
 * flight wait for it. With the helpers niced, the loop runs whenever it has work and the
 * signatures take every other cycle: on the 2-core bench machine tokens per second rose by about
 * a fifth at the same CPU per token (docs/architecture.md). Databases do the same with their
 * background threads (RocksDB's LowerThreadPoolCPUPriority).
 *
 * The cost: on a machine busy with other programs, the helpers yield to those too. LOCAL_HELPER_NICE
 * sets how far below the loop they go (0 turns it off). Nothing changes on a single CPU, where a loop that always wins
 * would starve the signatures it waits for, nor off Linux, where a thread has no nice value of
 * its own.
 */
import { randomFill } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { availableParallelism, getPriority, setPriority } from 'node:os';
import { ConfigError } from '../lambda/config.js';

export const DEFAULT_HELPER_NICE = 10;

/** LOCAL_HELPER_NICE: 0 (off) to 19, how many nice levels the helpers run below the loop. */
export function helperNice(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.LOCAL_HELPER_NICE?.trim();
  if (!raw) return DEFAULT_HELPER_NICE;
  if (!/^\d+$/.test(raw) || Number(raw) > 19)
    throw new ConfigError(
      'LOCAL_HELPER_NICE',
      `must be a whole number from 0 (off) to 19, got ${JSON.stringify(raw)}`,
    );
  return Number(raw);
}

export interface HelperPriority {
  /** The nice value the helpers run at, or 0 when they were left alone. */
  readonly nice: number;
  /** How many threads were lowered. */
  readonly threads: number;
  /** Why nothing was changed, when nothing was. */
  readonly skipped?: string;
}

/**
 * Puts every thread of this process but the calling one (the event loop) `by` nice levels below
 * it (at most 19): relative, so a server started under `nice` keeps its loop on top. Call it from
 * the main thread, before or after the server starts: libuv starts its whole pool on first use,
 * and this makes sure it has; V8's helpers exist from the start.
 */
export async function lowerHelperThreads(
  by: number,
  options: { cpus?: number; platform?: NodeJS.Platform } = {},
): Promise<HelperPriority> {
  const { cpus = availableParallelism(), platform = process.platform } = options;
  if (by === 0) return { nice: 0, threads: 0, skipped: 'LOCAL_HELPER_NICE=0' };
  if (platform !== 'linux') return { nice: 0, threads: 0, skipped: `not on ${platform}` };
  if (cpus < 2) return { nice: 0, threads: 0, skipped: 'one CPU' };
  const loop = getPriority();
  const nice = Math.min(19, loop + by);
  if (nice === loop) return { nice: 0, threads: 0, skipped: `the event loop is at nice ${loop}` };
  // One job on the pool, so that its threads exist before they are listed.
  await new Promise((resolve) => randomFill(Buffer.alloc(1), resolve));
  let threads = 0;
  let failure: string | undefined;
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry);
    if (tid === process.pid) continue;
    try {
      // On Linux a thread id names that thread alone (setpriority(2), PRIO_PROCESS).
      setPriority(tid, nice);
      threads++;
    } catch (err) {
      // ESRCH: the thread has exited meanwhile. Anything else is said in the banner.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH') failure ??= code ?? String(err);
    }
  }
  if (threads === 0) return { nice: 0, threads: 0, skipped: failure ?? 'no helper threads' };
  return { nice, threads };
}
