/**
 * moto_server for the AWS adapter integration tests: started by each test file on a free loopback
 * port and stopped after it. Without moto_server the tests are skipped with a visible notice,
 * except under CI=true, where its absence fails the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './processes.js';

export const MOTO_REGION = 'us-east-1';

export interface Moto {
  readonly endpoint: string;
  /** Settings for an SDK v3 client that talks to this server. */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  stop(): Promise<void>;
}

export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

/**
 * `describe` for moto suites: runs them when moto_server is on the PATH; otherwise skips them with
 * a notice on stderr, or, under CI=true, registers a failing test so the absence cannot go unseen.
 */
export function describeWithMoto(name: string, suite: () => void): void {
  if (motoAvailable()) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('moto_server is installed (required when CI=true)', () => {
        throw new Error(
          'moto_server is not on the PATH: install it (pip install "moto[server]") to run the AWS adapter tests',
        );
      });
    });
    return;
  }
  process.stderr.write(
    `\n*** SKIPPED "${name}": moto_server is not on the PATH (pip install "moto[server]"); CI=true makes this a failure ***\n\n`,
  );
  describe.skip(name, suite);
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`, {
        signal: AbortSignal.timeout(1000),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    clientConfig: {
      endpoint,
      region: MOTO_REGION,
      credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' },
      maxAttempts: 1,
    },
    stop,
  };
}

/** A name no other test in this moto server uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

// Tables with the key schema the stack gives them (lib/client-store.ts), as the local server makes them.
export { createTable } from '../../lambda/local/local-dynamodb.js';
