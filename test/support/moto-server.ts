/**
 * One moto_server process: started here, and also jest's global set-up for the `moto` project,
 * which starts one server for the whole run and passes its address to every moto test file in
 * MOTO_ENDPOINT (each file isolates itself with unique table, key and secret names). One Python
 * start-up per run instead of one per file.
 *
 * Jest loads global set-up files outside its module mapper, so this file imports no sibling module.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoProcess {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Where the global set-up keeps the shared server for the tear-down (moto-server-teardown.ts). */
export const SHARED_MOTO = Symbol.for('xaa.test.moto');

/**
 * moto_server as its own `main` runs it, but answering one request at a time. moto checks a
 * DynamoDB condition and then writes without a lock, so a threaded server lets two concurrent
 * conditional writes both succeed: DynamoDB's own atomicity, which the replay tests rely on, holds
 * only when requests are served in turn.
 */
const LAUNCHER = [
  'import os, sys',
  'from moto.server import DomainDispatcherApplication, create_backend_app',
  'from werkzeug.serving import run_simple',
  'os.environ.setdefault("MOTO_PORT", sys.argv[2])',
  'run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)',
].join('\n');

/** The Python that has moto_server (`pip install "moto[server]"`). */
const PYTHON = process.env.MOTO_PYTHON ?? 'python3';

export function motoOnPath(): boolean {
  return spawnSync(PYTHON, ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
}

export interface MotoProcessOptions {
  /**
   * Variables added to the server's environment: moto reads its settings from there when it
   * starts (INITIAL_NO_AUTH_ACTION_COUNT turns its IAM enforcement on: test/support/iam/moto-iam.ts).
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts moto_server on a free loopback port; resolves once it answers. */
export async function startMotoProcess(options: MotoProcessOptions = {}): Promise<MotoProcess> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(PYTHON, ['-c', LAUNCHER, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(options.env && { env: { ...process.env, ...options.env } }),
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => resolve(void (spawnError = err)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
    child.kill('SIGKILL'); // its state lives in memory and is thrown away anyway: no need to wait
    await exited;
  };
  // A start-up deadline, not a timing assertion: generous, so a loaded machine still gets there.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (spawnError) throw new Error(`moto_server could not be started: ${spawnError.message}`);
    if (child.exitCode !== null)
      throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`, {
        signal: AbortSignal.timeout(2000),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint, stop };
}

/** Jest global set-up (moto project). Runs only when a moto test file is selected. */
export default async function startSharedMoto(): Promise<void> {
  if (process.env.MOTO_ENDPOINT) return; // a server given from outside: use it, start nothing
  try {
    const moto = await startMotoProcess();
    (globalThis as Record<symbol, unknown>)[SHARED_MOTO] = moto;
    process.env.MOTO_ENDPOINT = moto.endpoint; // inherited by the jest workers
  } catch (err) {
    // Not installed (or not starting): describeWithMoto skips with a notice, or fails under CI=true.
    process.env.MOTO_UNAVAILABLE = (err as Error).message.slice(0, 500);
  }
}

// processes.ts has the same helper; this file must stand alone (see above).
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
