/**
 * `npm run admin -- clients list | head -1`: a reader that stops early closes the admin's standard
 * output under it. The command still does its work and exits as it would have, without a word.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-pipe-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Runs a bash script; resolves with what it wrote on standard error and standard output. */
function bash(script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', () => resolve({ stdout, stderr }));
  });
}

test('output piped into a reader that has gone: no EPIPE crash, the change made, exit 0', async () => {
  const admin = `${process.execPath} --import tsx bin/admin.ts`;
  // `true` reads nothing and exits at once: every line the admin prints meets a closed pipe.
  const { stdout, stderr } = await bash(
    [
      `${admin} clients add --client-id piped --scope read --resource https://api.example.com/ | true`,
      'echo "add ${PIPESTATUS[0]}"',
      `${admin} clients list | true`,
      'echo "list ${PIPESTATUS[0]}"',
    ].join('\n'),
  );
  expect(stderr).toBe('');
  expect(stdout).toBe('add 0\nlist 0\n');
  const lines: string[] = [];
  await runAdmin(['clients', 'list', '--json'], { DATA_DIR: dataDir }, (l) => lines.push(l));
  expect(JSON.parse(lines[0]!)).toEqual([expect.objectContaining({ client_id: 'piped' })]);
}, 30_000);
