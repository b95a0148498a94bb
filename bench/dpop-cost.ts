/**
 * `npm run bench:dpop`: what a DPoP proof adds to a token, in-process (section 2 of `npm run bench`,
 * the in-memory ports): bearer and DPoP-bound runs alternate, one request at a time, and each
 * figure is the median of its rounds. Writes nothing; prints the table.
 */
import { median } from './stats.js';
import { latency, setup, throughput } from './token-service.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const perRound = Number(process.env.BENCH_EVENTS ?? 1000);
const [bearer, bound] = await Promise.all([setup(), setup({ dpop: true })]);
// Warm-up: JIT, key caches, both paths.
await throughput(bearer, await bearer.mint(300), 1);
await throughput(bound, await bound.mint(300), 1);
const runs = {
  bearer: [] as number[],
  dpop: [] as number[],
  cpuBearer: [] as number[],
  cpuDpop: [] as number[],
};
for (let i = 0; i < rounds; i++) {
  const [b, d] = [await bearer.mint(perRound), await bound.mint(perRound)];
  const rb = await throughput(bearer, b, 1);
  const rd = await throughput(bound, d, 1);
  runs.bearer.push(rb.tokensPerSecond);
  runs.dpop.push(rd.tokensPerSecond);
  runs.cpuBearer.push((rb.cores * 1000) / rb.tokensPerSecond);
  runs.cpuDpop.push((rd.cores * 1000) / rd.tokensPerSecond);
}
// Latency with ports that wait like AWS's (section 3 of npm run bench): the proof's replay write
// overlaps the KMS-like signature, so binding should add its CPU only.
const delays = { signMs: 15, replayMs: 6 };
const [slowBearer, slowBound] = await Promise.all([
  setup(delays),
  setup({ ...delays, dpop: true }),
]);
await latency(slowBearer, await slowBearer.mint(20));
await latency(slowBound, await slowBound.mint(20));
const hiddenBearer = await latency(slowBearer, await slowBearer.mint(200));
const hiddenBound = await latency(slowBound, await slowBound.mint(200));
const m = (xs: number[]) => median(xs, (x) => x);
const msBearer = 1000 / m(runs.bearer);
const msDpop = 1000 / m(runs.dpop);
console.table({
  'bearer tokens/s, 1 at a time': Math.round(m(runs.bearer)),
  'DPoP-bound tokens/s, 1 at a time': Math.round(m(runs.dpop)),
  'ms per bearer token': +msBearer.toFixed(3),
  'ms per DPoP-bound token': +msDpop.toFixed(3),
  'added ms per token (wall)': +(msDpop - msBearer).toFixed(3),
  'CPU ms per token bearer / DPoP': `${m(runs.cpuBearer).toFixed(3)} / ${m(runs.cpuDpop).toFixed(3)}`,
  'p50 ms with AWS-like ports (sign 15, replay 6) bearer / DPoP': `${hiddenBearer.p50.toFixed(2)} / ${hiddenBound.p50.toFixed(2)}`,
  rounds,
});
