/**
 * `npm start`'s own entry point on a laptop that cannot reach a trusted issuer, and whose DATA_DIR
 * is then deleted: the banner marks the issuer (no JSON warning ahead of it), and the server stops
 * with one line instead of serving on from memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/processes.js';

const started: ChildProcess[] = [];
// Also when a test times out, and its own finally never runs.
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

test('offline: the banner marks the unreachable issuer; DATA_DIR deleted: one line, exit 1', async () => {
  const base = await mkdtemp(join(tmpdir(), 'xaa-offline-'));
  const dataDir = join(base, 'state');
  const port = await freePort();
  const unreachable = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      TRUSTED_ISSUERS: JSON.stringify([{ issuer: unreachable, jwks_uri: `${unreachable}/jwks` }]),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let gone = false;
  const exited = once(child, 'close').then(() => (gone = true));
  try {
    while (!stdout.includes('npm run admin -- clients add') && !gone)
      await Promise.race([once(child.stdout, 'data'), exited]);
    expect(stderr).toBe('');
    expect(stdout).toMatch(
      new RegExp(
        `\\n {4}${unreachable} {2}\\(keys: ${unreachable}/jwks; algorithms: RS256\\)\\n {6}\\u2718 keys unreachable \\(fetch failed: connect ECONNREFUSED [^)]*\\): its ID-JAGs get 503 temporarily_unavailable until a fetch succeeds \\(tried again on demand\\)\\n`,
      ),
    );

    await rm(dataDir, { recursive: true, force: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    expect(child.exitCode).toBe(1);
    expect(stderr).toBe(
      `DATA_DIR ${dataDir} was deleted or replaced under the running server (its lock is gone): stopping, so that no other server shares its clients and spent jtis; stop the server first when you delete DATA_DIR\n`,
    );
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  }
}, 30_000);
