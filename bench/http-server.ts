/**
 * (4) The local server over HTTP, side by side with a peer: the real `npm start` process and
 * node-oidc-provider with a jwt-bearer grant (bench/peer-server.ts), both as their own processes,
 * both driven by autocannon at the same concurrency with unique ID-JAGs from the same IdP key,
 * minted before each run. Rounds alternate which server goes first, so a machine whose speed
 * drifts (other work on it) weighs on both alike; each figure is the median of its rounds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { promisify } from 'node:util';
import { JWT_BEARER_GRANT } from '../lambda/oauth/grant-types.js';
import { median } from './stats.js';

export interface HttpFigures {
  readonly requests: number;
  readonly tokensPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  readonly failed: number;
  readonly peakRssMb: number;
  /** CPU seconds the server process used per wall second of the run. */
  readonly cores: number;
  /** The part of `cores` on the event loop's thread (the rest: libuv's pool, V8's helpers). */
  readonly mainThreadCores: number;
  /**
   * CPU time the server spent per token: what a token costs whatever else runs on the machine, so
   * a steadier comparison than tokens per second on a busy machine.
   */
  readonly cpuMsPerToken: number;
  /** Wall time of the run(s), in seconds. */
  readonly seconds: number;
}

export interface SideBySide {
  readonly ours: HttpFigures;
  readonly peer: HttpFigures;
  /** Median over rounds of ours/peer tokens per second, each round measuring both. */
  readonly ratio: number;
  readonly ratioRange: [number, number];
  readonly rounds: number;
  readonly connections: number;
  /** Requests that failed in any round, of either server. */
  readonly failedTotal: { ours: number; peer: number };
}

const root = fileURLToPath(new URL('..', import.meta.url));
/**
 * Whose `npm start` is measured as "ours": this checkout, or BENCH_OURS_ROOT (another checkout of
 * the project, e.g. an older commit in a git worktree, for before/after figures on one machine).
 */
const oursRoot = process.env.BENCH_OURS_ROOT ?? root;
const RESOURCE = 'https://api.example.com/';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A process and its descendants (the local server's cluster workers), from /proc. */
async function processTree(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const below = await Promise.all(
    children
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((c) => processTree(Number(c))),
  );
  return [pid, ...below.flat()];
}

/**
 * utime + stime of a process and its descendants, or of their main threads, in seconds (Linux
 * /proc). A process that exited meanwhile counts for nothing.
 */
async function cpuSeconds(pid: number, mainThread = false): Promise<number> {
  const each = await Promise.all(
    (await processTree(pid)).map(async (p) => {
      const path = mainThread ? `/proc/${p}/task/${p}/stat` : `/proc/${p}/stat`;
      const stat = await readFile(path, 'utf8').catch(() => undefined);
      if (!stat) return 0;
      const fields = stat.split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    }),
  );
  return each.reduce((a, b) => a + b, 0);
}

/** The peak resident memory of a process and its descendants, summed. */
async function peakRssMb(pid: number): Promise<number> {
  let kb = 0;
  for (const p of await processTree(pid)) {
    const status = await readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    kb += Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

interface Target {
  readonly name: 'ours' | 'peer';
  readonly issuer: string;
  readonly child: ChildProcess;
  readonly clientSecret: string;
}

async function waitUntilUp(issuer: string, path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${issuer}: the server exited`);
    try {
      await fetch(`${issuer}${path}`);
      return;
    } catch {
      if (i > 400) throw new Error(`${issuer} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** `npm start`'s own entry point, as `npm start` runs it (through tsx), JSON logs on. */
/** Each server's profiles in DIR/NAME/ (tsx's loader thread writes one beside the main thread's). */
const profileFlags = (dir: string | undefined, name: string) =>
  dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];

/** The main thread's profile in DIR/NAME/: node names it CPU.<date>.<time>.<pid>.<thread 0>.<n>. */
export async function mainThreadProfile(dir: string, name: string): Promise<string> {
  const files = await readdir(join(dir, name));
  const main = files.find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (!main) throw new Error(`no main-thread profile in ${join(dir, name)}`);
  return join(dir, name, main);
}

async function startOurs(
  dataDir: string,
  idp: { issuer: string; jwksUri: string },
  profileDir: string | undefined,
) {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, jwks_uri: idp.jwksUri }]),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const child = spawn(
    process.execPath,
    [...profileFlags(profileDir, 'ours'), '--import', 'tsx', join(oursRoot, 'bin/local.ts')],
    { cwd: oursRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitUntilUp(issuer, '/.well-known/openid-configuration', child);
  // Registered by that checkout's admin command while the server runs, as a user would.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      join(oursRoot, 'bin/admin.ts'),
      ...['clients', 'add', '--client-id', 'bench', '--scope', 'read'],
      ...['--resource', RESOURCE, '--json'],
    ],
    { cwd: oursRoot, env: { ...process.env, ...env } },
  );
  const { client_secret } = JSON.parse(stdout.trim().split('\n').pop()!) as {
    client_secret: string;
  };
  return { name: 'ours', issuer, child, clientSecret: client_secret } satisfies Target;
}

async function startPeer(
  idp: { issuer: string; jwk: object },
  profileDir: string | undefined,
): Promise<Target> {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const clientSecret = 'peer-bench-secret-0123456789abcdef';
  const args = [...profileFlags(profileDir, 'peer'), '--import', 'tsx', 'bench/peer-server.ts'];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      IDP_ISSUER: idp.issuer,
      IDP_JWK: JSON.stringify(idp.jwk),
      CLIENT_ID: 'bench',
      CLIENT_SECRET: clientSecret,
      RESOURCE,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitUntilUp(issuer, '/.well-known/openid-configuration', child);
  return { name: 'peer', issuer, child, clientSecret };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  await closed;
}

/** Two runs of one server as one: rates over the total time, latency percentiles averaged. */
function combine(xs: HttpFigures[]): HttpFigures {
  const seconds = xs.reduce((a, x) => a + x.seconds, 0);
  const tokens = xs.reduce((a, x) => a + x.tokensPerSecond * x.seconds, 0);
  const cpu = xs.reduce((a, x) => a + x.cores * x.seconds, 0);
  const mean = (f: (x: HttpFigures) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
  return {
    requests: xs.reduce((a, x) => a + x.requests, 0),
    tokensPerSecond: tokens / seconds,
    p50Ms: mean((x) => x.p50Ms),
    p99Ms: mean((x) => x.p99Ms),
    failed: xs.reduce((a, x) => a + x.failed, 0),
    peakRssMb: Math.max(...xs.map((x) => x.peakRssMb)),
    cores: cpu / seconds,
    mainThreadCores: xs.reduce((a, x) => a + x.mainThreadCores * x.seconds, 0) / seconds,
    cpuMsPerToken: (cpu * 1000) / Math.max(1, tokens),
    seconds,
  };
}

export async function sideBySide(options: {
  rounds: number;
  requests: number;
  connections?: number;
  log?: (line: string) => void;
  /** Run both servers under `node --cpu-prof`, writing their profiles here (for the split). */
  profileDir?: string;
}): Promise<SideBySide> {
  const { rounds, requests, connections = 16, log = () => undefined, profileDir } = options;
  const dataDir = await mkdtemp(join(tmpdir(), 'xaa-bench-http-'));
  const idpKeys = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(idpKeys.publicKey)), alg: 'RS256', use: 'sig' };
  const kid = await calculateJwkThumbprint(jwk);
  const idpServer = createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: [{ ...jwk, kid }] })),
  );
  idpServer.listen(0, '127.0.0.1');
  await once(idpServer, 'listening');
  const idpIssuer = `http://127.0.0.1:${(idpServer.address() as { port: number }).port}`;

  let serial = 0;
  /** Unique ID-JAGs for one run against one server, signed before its clock starts. */
  const mint = (t: Target, n: number) => {
    const now = Math.floor(Date.now() / 1000);
    return Promise.all(
      Array.from({ length: n }, async () => {
        const jag = await new SignJWT({
          iss: idpIssuer,
          sub: 'alice@example.com',
          aud: t.issuer,
          client_id: 'bench',
          jti: `http-${serial++}`,
          iat: now,
          exp: now + 300,
          scope: 'read',
        })
          .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid })
          .sign(idpKeys.privateKey);
        return new URLSearchParams({
          grant_type: JWT_BEARER_GRANT,
          assertion: jag,
          client_id: 'bench',
          client_secret: t.clientSecret,
        }).toString();
      }),
    );
  };

  const load = async (t: Target, n: number): Promise<HttpFigures> => {
    const bodies = await mint(t, n);
    let next = 0;
    const cpu0 = await cpuSeconds(t.child.pid!);
    const main0 = await cpuSeconds(t.child.pid!, true);
    const t0 = performance.now();
    // autocannon notices that the last response is in only at its next one-second tick: the run
    // ends at the last response, timed here.
    let last = t0;
    const result = await autocannon({
      url: t.issuer,
      connections,
      amount: n,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          setupRequest: (req) => ({ ...req, body: bodies[next++] ?? '' }),
          onResponse: () => void (last = performance.now()),
        },
      ],
    });
    const seconds = (last - t0) / 1000;
    const cores = ((await cpuSeconds(t.child.pid!)) - cpu0) / seconds;
    const mainThreadCores = ((await cpuSeconds(t.child.pid!, true)) - main0) / seconds;
    const failed = result.non2xx + result.errors + result.timeouts;
    return {
      requests: result.requests.total,
      tokensPerSecond: (result.requests.total - result.non2xx) / seconds,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      failed,
      peakRssMb: await peakRssMb(t.child.pid!),
      cores,
      mainThreadCores,
      cpuMsPerToken: (cores * seconds * 1000) / Math.max(1, result.requests.total - result.non2xx),
      seconds,
    };
  };

  const targets: Target[] = [];
  try {
    const jwksUri = `${idpIssuer}/jwks`;
    targets.push(await startOurs(dataDir, { issuer: idpIssuer, jwksUri }, profileDir));
    targets.push(await startPeer({ issuer: idpIssuer, jwk: { ...jwk, kid } }, profileDir));
    // Warm-up: JIT, key caches, the IdP's JWKS, every code path, before any clock starts.
    for (const t of targets) await load(t, Math.min(1000, requests));
    const runs: Record<'ours' | 'peer', HttpFigures[]> = { ours: [], peer: [] };
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // A B B A, with A alternating from round to round: a drift in the machine's speed during
      // the round weighs on both servers alike.
      const [a, b] = i % 2 === 0 ? targets : [...targets].reverse();
      const slices: Array<[Target, HttpFigures]> = [];
      for (const t of [a!, b!, b!, a!]) slices.push([t, await load(t, Math.ceil(requests / 2))]);
      const round = {
        ours: combine(slices.filter(([t]) => t.name === 'ours').map(([, f]) => f)),
        peer: combine(slices.filter(([t]) => t.name === 'peer').map(([, f]) => f)),
      };
      runs.ours.push(round.ours!);
      runs.peer.push(round.peer!);
      ratios.push(round.ours!.tokensPerSecond / round.peer!.tokensPerSecond);
      log(
        `   round ${i + 1}/${rounds}: ours ${Math.round(round.ours!.tokensPerSecond)}/s p99 ${round.ours!.p99Ms} ms, peer ${Math.round(round.peer!.tokensPerSecond)}/s p99 ${round.peer!.p99Ms} ms`,
      );
    }
    const summary = (xs: HttpFigures[]): HttpFigures => ({
      seconds: xs.reduce((a, x) => a + x.seconds, 0),
      requests: xs.reduce((a, x) => a + x.requests, 0),
      tokensPerSecond: median(xs, (x) => x.tokensPerSecond).tokensPerSecond,
      p50Ms: median(xs, (x) => x.p50Ms).p50Ms,
      p99Ms: median(xs, (x) => x.p99Ms).p99Ms,
      failed: xs.reduce((a, x) => a + x.failed, 0),
      peakRssMb: Math.max(...xs.map((x) => x.peakRssMb)),
      cores: median(xs, (x) => x.cores).cores,
      mainThreadCores: median(xs, (x) => x.cores).mainThreadCores,
      cpuMsPerToken: median(xs, (x) => x.cpuMsPerToken).cpuMsPerToken,
    });
    const ours = summary(runs.ours);
    const peer = summary(runs.peer);
    return {
      ours,
      peer,
      ratio: median(ratios, (r) => r),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      rounds,
      connections,
      failedTotal: { ours: ours.failed, peer: peer.failed },
    };
  } finally {
    for (const t of targets) await stop(t.child);
    idpServer.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
