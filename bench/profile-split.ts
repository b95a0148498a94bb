/**
 * Summarises a V8 CPU profile (node --cpu-prof) of a server under the benchmark's load: self time
 * grouped into what a token costs (RSA, HTTP, the store, logging, ...), as shares of the busy
 * samples (idle ones are left out: the server also idles while the other server is measured).
 * `npx tsx bench/profile-split.ts FILE.cpuprofile` prints the split and the top functions.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins: a frame's own (self) time goes to one group. */
const GROUPS: Array<[string, (fn: string, url: string) => boolean]> = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  [
    'start-up (module loading, key generation)',
    (fn, url) => /generateKeyPair/.test(fn) || /internal\/modules|esm\/hooks/.test(url),
  ],
  [
    'crypto calls: RSA, hashes, WebCrypto (the work, or handing it to the thread pool)',
    (fn, url) =>
      /^(sign|signOneShot|verify|verifyOneShot|digest|update|randomUUID|timingSafeEqual)$/.test(
        fn,
      ) || /internal\/crypto/.test(url),
  ],
  ['the store (journal append, maps)', (_fn, url) => /local\/(local-store|journal)/.test(url)],
  ['file system writes', (_fn, url) => /internal\/fs|node:fs/.test(url)],
  [
    'HTTP and sockets (node:http, net, streams)',
    (fn, url) =>
      /_http_|internal\/http|node:http|node:net|internal\/stream|streams?\/|node:stream|internal\/net|internal\/timers|llhttp/.test(
        url,
      ) || /^(writev|writeUtf8String|writeBuffer|onStreamRead|parse|execute)$/.test(fn),
  ],
  [
    'logging (Powertools logger)',
    (_fn, url) => /powertools\/logger|aws-lambda-powertools|local\/batched-logger/.test(url),
  ],
  ['jose (JWT decoding, key selection)', (_fn, url) => /node_modules\/jose/.test(url)],
  ['token path (lambda/, local/, handlers, oauth)', (_fn, url) => /\/(lambda|local)\//.test(url)],
  ['oidc-provider and koa (peer only)', (_fn, url) => /oidc-provider|koa|lru-cache/.test(url)],
  ['program (other JavaScript, native)', () => true],
];

export interface Split {
  readonly totalMs: number;
  readonly groups: Array<{ group: string; share: number }>;
  readonly top: Array<{ fn: string; share: number }>;
}

export function split(profile: Profile): Split {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const groups = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName: fn, url } = byId.get(id)!.callFrame;
    const group = GROUPS.find(([, test]) => test(fn, url))![0];
    groups.set(group, (groups.get(group) ?? 0) + us);
    const label = `${fn || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(lambda|bench|bin)\//, '$1/')}`;
    fns.set(label, (fns.get(label) ?? 0) + us);
  }
  const ordered = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ k, share: v / total }));
  return {
    totalMs: total / 1000,
    groups: ordered(groups).map(({ k, share }) => ({ group: k, share })),
    top: ordered(fns)
      .slice(0, 15)
      .map(({ k, share }) => ({ fn: k, share })),
  };
}

export async function splitFile(path: string): Promise<Split> {
  return split(JSON.parse(await readFile(path, 'utf8')) as Profile);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await splitFile(process.argv[2]!);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(`${(s.totalMs / 1000).toFixed(1)} s of samples`);
  for (const g of s.groups) console.log(`${pct(g.share).padStart(7)}  ${g.group}`);
  console.log('\ntop functions (self time)');
  for (const f of s.top) console.log(`${pct(f.share).padStart(7)}  ${f.fn}`);
}
