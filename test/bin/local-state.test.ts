/**
 * The local server's state as an operating system sees it: `bin/local.ts` run as its own process
 * (as `npm start` runs it), inspected through /proc, attacked as another Unix user, killed with
 * SIGKILL in the middle of a burst and started again, and started twice on one DATA_DIR.
 */
import { spawnSync } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { freePort, npmRun, startProcess, stopProcess, waitForHttp } from '../support/processes.js';
import { TestIdp } from '../support/test-idp.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await TestIdp.start();
});
afterAll(() => idp.stop());

interface Running {
  readonly child: ReturnType<typeof startProcess>;
  readonly url: string;
  readonly env: Record<string, string>;
}

const issuerFor = (port: number) => `http://localhost:${port}`;

async function envFor(dataDir: string): Promise<Record<string, string>> {
  const port = await freePort();
  return {
    DATA_DIR: dataDir,
    PORT: String(port),
    ISSUER: issuerFor(port),
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Two workers whatever the machine: every test here holds with the store across IPC.
    LOCAL_WORKERS: '2',
  };
}

/** `npm start`'s own entry point in a process of its own. */
async function start(env: Record<string, string>): Promise<Running> {
  const child = startProcess(process.execPath, ['--import', 'tsx', 'bin/local.ts'], env);
  const url = issuerFor(Number(env.PORT));
  await waitForHttp(`${url}/.well-known/openid-configuration`, 30_000);
  return { child, url, env };
}

async function admin(env: Record<string, string>, ...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAdmin(argv, env, (l) => lines.push(l));
  return lines;
}

async function addClient(env: Record<string, string>, clientId: string) {
  const [line] = await admin(
    env,
    'clients',
    'add',
    '--client-id',
    clientId,
    '--scope',
    'read',
    '--resource',
    'https://api.example.com/',
    '--json',
  );
  return JSON.parse(line!) as { client_id: string; client_secret: string };
}

async function redeem(
  server: Running,
  c: { client_id: string; client_secret: string },
  assertion?: string,
): Promise<{ status: number; body: { error?: string }; assertion: string }> {
  const jag = assertion ?? (await idp.mint({ audience: server.url, clientId: c.client_id }));
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: JWT_BEARER_GRANT,
      assertion: jag,
      client_id: c.client_id,
      client_secret: c.client_secret,
    }),
    // A request the server never answers fails here instead of holding the test until jest's timeout.
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: (await res.json()) as { error?: string }, assertion: jag };
}

/** The inodes of a process's sockets, from its file descriptors. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  return inodes;
}

/** Listening (TCP) or bound (UDP) ports in /proc/net/<table> whose socket is one of `inodes`. */
async function openPorts(table: string, inodes: Set<string>): Promise<number[]> {
  const rows = (await readFile(`/proc/net/${table}`, 'utf8')).trim().split('\n').slice(1);
  return rows
    .map((row) => row.trim().split(/\s+/))
    .filter((f) => inodes.has(f[9]!) && (table.startsWith('udp') || f[3] === '0A'))
    .map((f) => parseInt(f[1]!.split(':')[1]!, 16));
}

describe('a running local server', () => {
  let dataDir: string;
  let server: Running;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'xaa-state-'));
    server = await start(await envFor(dataDir));
    await addClient(server.env, 'probe');
  }, 60_000);
  afterAll(async () => {
    await stopProcess(server.child);
    await rm(dataDir, { recursive: true, force: true });
  });

  test('listens on PORT and nowhere else: no other TCP or UDP port, only its own Unix socket', async () => {
    const pid = server.child.pid!;
    const inodes = await socketInodes(pid);
    const tcp = [...(await openPorts('tcp', inodes)), ...(await openPorts('tcp6', inodes))];
    expect(tcp).toEqual([Number(server.env.PORT)]);
    expect([...(await openPorts('udp', inodes)), ...(await openPorts('udp6', inodes))]).toEqual([]);
    // Listening Unix sockets of this process: the admin socket inside DATA_DIR, nothing else.
    const unix = (await readFile('/proc/net/unix', 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.trim().split(/\s+/))
      .filter((f) => inodes.has(f[6]!) && f[5] === '01' && f[3] === '00010000')
      .map((f) => f[7]);
    expect(unix).toEqual([join(dataDir, 'admin.sock')]);
  });

  test('the state is private: DATA_DIR 0700, every file and socket in it 0600', async () => {
    const walk = async (dir: string): Promise<string[]> => {
      const found: string[] = [];
      expect([dir, (await stat(dir)).mode & 0o777]).toEqual([dir, 0o700]);
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) found.push(...(await walk(path)));
        else {
          expect([path, (await stat(path)).mode & 0o777]).toEqual([path, 0o600]);
          found.push(path);
        }
      }
      return found;
    };
    const files = await walk(dataDir);
    expect(files).toEqual(
      expect.arrayContaining(
        ['clients.jsonl', 'signing-key.pem', 'admin.sock', 'lock'].map((f) => join(dataDir, f)),
      ),
    );
  });

  const asRoot = process.getuid?.() === 0;
  (asRoot ? test : test.skip)(
    'as another Unix user, nothing of the state can be read, listed, changed or reached',
    async () => {
      await redeem(server, await addClient(server.env, 'victim')); // a spent jti on disk too
      const probeDir = await mkdtemp(join(tmpdir(), 'xaa-probe-'));
      await chmod(probeDir, 0o755);
      const probe = join(probeDir, 'probe.mjs');
      // Every way in that file modes should close, tried as `nobody`; prints what got through.
      await writeFile(
        probe,
        `
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
const dir = process.argv[2];
const names = ${JSON.stringify(['clients.jsonl', 'signing-key.pem', 'lock', 'admin.sock', 'replay'])};
const got = [];
const tryIt = (what, fn) => { try { fn(); got.push(what); } catch (e) { if (e.code !== 'EACCES' && e.code !== 'EPERM') got.push(what + ' ' + e.code); } };
tryIt('list DATA_DIR', () => fs.readdirSync(dir));
tryIt('create a file', () => fs.writeFileSync(path.join(dir, 'planted'), 'x'));
for (const n of names) {
  const p = path.join(dir, n);
  tryIt('read ' + n, () => fs.readFileSync(p));
  tryIt('append to ' + n, () => fs.appendFileSync(p, 'x'));
  tryIt('delete ' + n, () => fs.unlinkSync(p));
  tryIt('rename ' + n, () => fs.renameSync(p, p + '.moved'));
  tryIt('chmod ' + n, () => fs.chmodSync(p, 0o777));
}
await new Promise((resolve) => {
  const s = net.connect(path.join(dir, 'admin.sock'));
  s.on('connect', () => { got.push('connect to admin.sock'); s.destroy(); resolve(); });
  s.on('error', (e) => { if (e.code !== 'EACCES') got.push('connect to admin.sock ' + e.code); resolve(); });
});
console.log(JSON.stringify(got));
`,
      );
      await chmod(probe, 0o644);
      try {
        const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, probe, dataDir], {
          encoding: 'utf8',
        });
        expect(run.stderr).toBe('');
        expect(JSON.parse(run.stdout)).toEqual([]);
        // The admin command as nobody is refused with one line naming why.
        const adminRun = spawnSync(
          'runuser',
          [
            '-u',
            'nobody',
            '--',
            process.execPath,
            '--import',
            'tsx',
            'bin/admin.ts',
            'clients',
            'list',
          ],
          { encoding: 'utf8', env: { ...process.env, DATA_DIR: dataDir } },
        );
        expect(adminRun.status).not.toBe(0);
        expect(adminRun.stdout).not.toContain('victim');
        // In a checkout only its owner may enter (a `mktemp -d` clone), nobody cannot even load
        // the admin: refused all the same, but by Node, not by the admin's own one-line message.
        const checkoutReadable =
          spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', resolve('bin/admin.ts')])
            .status === 0;
        if (checkoutReadable) expect(adminRun.stderr.trim().split('\n')).toHaveLength(1);
        else expect(adminRun.stderr).toMatch(/EACCES|ERR_MODULE_NOT_FOUND|permission denied/i);
        // And the server still serves its clients, unchanged.
        expect((await admin(server.env, 'clients', 'list', '--json'))[0]).toContain('victim');
      } finally {
        await rm(probeDir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  test('a second server on the same DATA_DIR stops with one clear line, and the first serves on', async () => {
    const run = await npmRun('start', [], await envFor(dataDir));
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `another server \\(pid ${server.child.pid}\\) is using DATA_DIR ${dataDir}: stop it first`,
      ),
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect((await redeem(server, await addClient(server.env, 'after-second'))).status).toBe(200);
  }, 60_000);

  test('the admin adds, disables and removes clients while the server runs: each in effect on the next request', async () => {
    const c = await addClient(server.env, 'live');
    expect((await redeem(server, c)).status).toBe(200);
    await admin(server.env, 'clients', 'disable', '--client-id', 'live');
    expect((await redeem(server, c)).status).toBe(401);
    await admin(server.env, 'clients', 'enable', '--client-id', 'live');
    expect((await redeem(server, c)).status).toBe(200);
    // Through `npm run admin` itself, a process of its own.
    const removed = await npmRun('admin', ['clients', 'remove', '--client-id', 'live'], server.env);
    expect(removed.stdout).toContain('Removed client live');
    expect((await redeem(server, c)).status).toBe(401);
  }, 60_000);
});

test('kill -9 in the middle of a burst loses no registered client and no spent jti', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'xaa-kill-'));
  const env = await envFor(dataDir);
  let server = await start(env);
  try {
    const clients = [await addClient(env, 'k1'), await addClient(env, 'k2')];
    const jags = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        idp.mint({ audience: server.url, clientId: clients[i % 2]!.client_id }),
      ),
    );
    const redeemed: Array<{ client: (typeof clients)[number]; assertion: string }> = [];
    const registeredDuringBurst: Array<{ client_id: string; client_secret: string }> = [];
    let next = 0;
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      process.kill(server.child.pid!, 'SIGKILL');
    };
    // 16 at a time; the server is killed once 120 requests have been answered, mid-stream (a
    // loaded machine may answer some with 503: those ID-JAGs were not spent, and are not counted).
    let answered = 0;
    const worker = async () => {
      while (!killed && next < jags.length) {
        const i = next++;
        const client = clients[i % 2]!;
        try {
          const r = await redeem(server, client, jags[i]);
          if (r.status === 200) redeemed.push({ client, assertion: jags[i]! });
          if (++answered >= 120) kill();
        } catch {
          // the connection died with the server
        }
      }
    };
    const registering = (async () => {
      for (let i = 0; !killed; i++) {
        try {
          registeredDuringBurst.push(await addClient(env, `burst${i}`));
        } catch {
          return; // the server died while answering: that registration was never confirmed
        }
      }
    })();
    const closed = new Promise((r) => server.child.once('close', r));
    await Promise.all([...Array.from({ length: 16 }, worker), registering]);
    kill();
    await closed;
    expect(redeemed.length).toBeGreaterThan(0);

    server = await start(env); // the dead server's lock and socket are recovered
    // Every ID-JAG that got a token is still spent.
    const replays = await Promise.all(redeemed.map((r) => redeem(server, r.client, r.assertion)));
    expect(replays.filter((r) => r.status !== 400 || r.body.error !== 'invalid_grant')).toEqual([]);
    // Every client confirmed before the kill still authenticates.
    for (const c of [...clients, ...registeredDuringBurst]) {
      expect([c.client_id, (await redeem(server, c)).status]).toEqual([c.client_id, 200]);
    }
  } finally {
    await stopProcess(server.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

describe('DATA_DIR guards', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'xaa-guards-'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  test('a folder others may write is refused with one line; a readable one is made private', async () => {
    const open = join(base, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const run = await npmRun('start', [], await envFor(open));
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/is writable by other users \(mode 777\)/);

    const readable = join(base, 'readable');
    await mkdir(readable);
    await chmod(readable, 0o755);
    await writeFile(join(readable, 'clients.jsonl'), '', { mode: 0o644 });
    await chmod(join(readable, 'clients.jsonl'), 0o644);
    const server = await start(await envFor(readable));
    try {
      expect((await stat(readable)).mode & 0o777).toBe(0o700);
      expect((await stat(join(readable, 'clients.jsonl'))).mode & 0o777).toBe(0o600);
    } finally {
      await stopProcess(server.child);
    }
  }, 60_000);

  (process.getuid?.() === 0 ? test : test.skip)(
    "another user's folder is refused with one line",
    async () => {
      const theirs = join(base, 'theirs');
      await mkdir(theirs, { mode: 0o700 });
      await chown(theirs, 65534, 65534);
      const run = await npmRun('start', [], await envFor(theirs));
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/belongs to uid 65534, not to you/);
    },
    60_000,
  );

  test('a lock left by a process that is gone does not stop the next start', async () => {
    const dir = join(base, 'stale');
    await mkdir(dir, { mode: 0o700 });
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    await writeFile(
      join(dir, 'lock'),
      JSON.stringify({ pid: Number(gone.stdout.trim()), role: 'server', nonce: 'old' }),
      { mode: 0o600 },
    );
    await writeFile(join(dir, 'admin.sock'), '', { mode: 0o600 }); // what a killed server leaves
    const server = await start(await envFor(dir));
    try {
      expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({
        pid: server.child.pid,
        role: 'server',
      });
    } finally {
      await stopProcess(server.child);
    }
  }, 60_000);
});
