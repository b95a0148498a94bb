/**
 * `npm run bench`: measures the token path against its physical limit and writes
 * docs/performance.md and docs/performance.svg. Not part of `npm test`.
 *
 * `BENCH_ONLY=6` (a comma-separated list of section numbers: 1 for sections 1-2, 3, 4, 5, 6) runs
 * only those sections and prints what they measured without writing the page; section 6 runs 5
 * too, whose cold starts it reports.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { coldStarts } from './cold-start.js';
import { cryptoBound } from './crypto-bound.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainThreadProfile, sideBySide } from './http-server.js';
import { accessLogLine, platformLines } from './log-bytes.js';
import { splitFile } from './profile-split.js';
import { chart, machine, markdown, signingRows, type Figures } from './report.js';
import { signingModes, type LatencyModel } from './signing-modes.js';
import { median } from './stats.js';
import { latency, setup, throughput } from './token-service.js';

const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY?.split(',').map((s) => Number(s.trim()));
if (only?.some((n) => ![1, 3, 4, 5, 6].includes(n)))
  throw new Error(`BENCH_ONLY: sections are 1 (1-2), 3, 4, 5 and 6, not ${process.env.BENCH_ONLY}`);
const runs = (section: number) =>
  !only || only.includes(section) || (section === 5 && only.includes(6));
const started = performance.now();
/** Progress on stderr, each line with the time so far: a full run takes a few minutes. */
const log = (s: string) => {
  const seconds = Math.round((performance.now() - started) / 1000);
  process.stderr.write(
    `[${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}] ${s}\n`,
  );
};
const loadAtStart = loadavg()[0]!;
const r = (n: number) => Math.round(n);
const printed: Record<string, string | number> = {};

/** The latency model of section 3, section 5 and section 6: docs/performance.md section 6 says where each figure comes from. */
const model: LatencyModel = { signMs: 15, replayMs: 6, decryptMs: 15 };

log(
  `bench on ${machine()}: ${only ? `section${only.length > 1 ? 's' : ''} ${only.join(', ')}` : 'six parts, a few minutes in all'} (BENCH_QUICK=1 for a shorter run)`,
);

let crypto: Figures['crypto'] | undefined;
let inProcess: Figures['inProcess'] | undefined;
if (runs(1)) {
  log('1-2. crypto bound and token service in-process, interleaved');
  // A shared machine's speed drifts by more than the overhead being measured: rounds alternate the
  // bound and the service, and each figure is the median of its rounds.
  const s = await setup();
  await throughput(s, await s.mint(500), 1); // warm-up: JIT, key caches
  const rounds = quick ? 3 : 15;
  const bounds: Awaited<ReturnType<typeof cryptoBound>>[] = [];
  const sequentials: Awaited<ReturnType<typeof throughput>>[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const events = await s.mint(quick ? 800 : 1500);
    const bound = await cryptoBound(quick ? 600 : 1200);
    const run = await throughput(s, events, 1);
    bounds.push(bound);
    sequentials.push(run);
    ratios.push(run.tokensPerSecond / bound.pairsPerSecond);
    log(
      `   round ${i + 1}/${rounds}: bound ${Math.round(bound.pairsPerSecond)}/s, service ${Math.round(run.tokensPerSecond)}/s`,
    );
  }
  crypto = {
    pairsPerSecond: median(bounds, (b) => b.pairsPerSecond).pairsPerSecond,
    signPerSecond: median(bounds, (b) => b.signPerSecond).signPerSecond,
    verifyPerSecond: median(bounds, (b) => b.verifyPerSecond).verifyPerSecond,
  };
  const sequential = median(sequentials, (x) => x.tokensPerSecond);
  const ratio = median(ratios, (x) => x);
  const concurrency = 16;
  log(`   the token service with ${concurrency} in flight`);
  const concurrent = await throughput(s, await s.mint(quick ? 2000 : 8000), concurrency);
  inProcess = {
    sequential,
    concurrent,
    concurrency,
    ratio,
    rounds,
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
  };
  Object.assign(printed, {
    'crypto bound (verify+sign/s, 1 core)': r(crypto.pairsPerSecond),
    'in-process tokens/s, 1 at a time': r(sequential.tokensPerSecond),
    'ratio to crypto bound (median of rounds)': +ratio.toFixed(2),
    [`in-process tokens/s, ${concurrency} in flight`]: r(concurrent.tokensPerSecond),
  });
}

let hidden: Figures['hidden'] | undefined;
if (runs(3)) {
  log('3. dependency latency hidden');
  const slow = await setup(model);
  await latency(slow, await slow.mint(20));
  hidden = { ...(await latency(slow, await slow.mint(quick ? 100 : 400))), ...model };
  Object.assign(printed, {
    'latency hidden p50 ms': +hidden.p50.toFixed(2),
    'latency hidden p99 ms': +hidden.p99.toFixed(2),
  });
}

let http: Figures['http'] | undefined;
let profiles: Figures['profiles'] | undefined;
if (runs(4)) {
  log('4. local server over HTTP, side by side with node-oidc-provider');
  const httpRequests = quick ? 2000 : 4000;
  http = await sideBySide({ rounds: quick ? 3 : 15, requests: httpRequests, log });
  log('   one more round with both servers profiled');
  const profileDir = await mkdtemp(join(tmpdir(), 'xaa-bench-profiles-'));
  await sideBySide({ rounds: 1, requests: httpRequests, profileDir });
  profiles = {
    ours: await splitFile(await mainThreadProfile(profileDir, 'ours')),
    peer: await splitFile(await mainThreadProfile(profileDir, 'peer')),
  };
  await rm(profileDir, { recursive: true, force: true });
  Object.assign(printed, {
    'HTTP tokens/s ours / peer (c=16)': `${r(http.ours.tokensPerSecond)} / ${r(http.peer.tokensPerSecond)}`,
    'HTTP ours/peer (median of rounds)': +http.ratio.toFixed(2),
    'HTTP p50 ms ours / peer': `${http.ours.p50Ms} / ${http.peer.p50Ms}`,
    'HTTP p99 ms ours / peer': `${http.ours.p99Ms} / ${http.peer.p99Ms}`,
    'HTTP failed ours / peer': `${http.failedTotal.ours} / ${http.failedTotal.peer}`,
    'HTTP peak RSS MB ours': r(http.ours.peakRssMb),
  });
}

let cold: Awaited<ReturnType<typeof coldStarts>> | undefined;
if (runs(5)) {
  log('5. cold starts');
  cold = await coldStarts(quick ? 3 : 7, model);
  const c = cold.functions;
  Object.assign(printed, {
    'cold discovery ms / KB': `${r(c.discovery.firstResponseMs)} / ${(c.discovery.bundleBytes / 1024).toFixed(1)}`,
    'cold jwks ms / KB': `${r(c.jwks.firstResponseMs)} / ${(c.jwks.bundleBytes / 1024).toFixed(1)}`,
    'cold token (kms) ms / KB': `${r(c.token.firstResponseMs)} / ${(c.token.bundleBytes / 1024).toFixed(1)}`,
    'cold token (wrapped-key) ms': r(c['token-wrapped'].firstResponseMs),
  });
}

let signing: Figures['signing'] | undefined;
if (runs(6)) {
  log('6. the two signing modes side by side, with the modelled AWS latencies');
  const rounds = quick ? 3 : 8;
  const perRound = quick ? 80 : 150;
  signing = {
    model,
    runs: await signingModes(model, { rounds, perRound }),
    rounds,
    perRound,
    memoryMb: 512,
    tokensPerContainer: 1000,
    logBytes: {
      function: cold!.tokenLogBytes,
      platform: Buffer.byteLength(platformLines()),
      accessLog: Buffer.byteLength(accessLogLine()),
    },
  };
}

const load: [number, number] = [loadAtStart, loadavg()[0]!];
if (!only) {
  log('   writing the report');
  const figures: Figures = {
    date: new Date().toISOString().slice(0, 10),
    load,
    crypto: crypto!,
    inProcess: inProcess!,
    hidden: hidden!,
    http: http!,
    profiles: profiles!,
    cold: cold!.functions,
    signing: signing!,
  };
  const docs = fileURLToPath(new URL('../docs/', import.meta.url));
  await writeFile(`${docs}performance.md`, markdown(figures));
  await writeFile(`${docs}performance.svg`, chart(figures));
}
if (Object.keys(printed).length > 0) console.table(printed);
if (signing && cold) {
  // The side-by-side table of section 6, as the page has it.
  const rows = signingRows({ signing, cold: cold.functions } as Figures);
  console.table(
    Object.fromEntries(
      rows.map(([label, kms, wrapped, target]) => [
        label,
        { kms, 'wrapped-key': wrapped, 'wrapped-key target': target.replaceAll('**', '') },
      ]),
    ),
  );
}
log(
  only
    ? `sections ${only.join(', ')} in ${((performance.now() - started) / 1000).toFixed(0)} s (load ${load[0].toFixed(1)} → ${load[1].toFixed(1)}); the page is written only by a full run`
    : `wrote docs/performance.md and docs/performance.svg in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
process.exit(0);
