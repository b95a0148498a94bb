/** LOCAL_HELPER_NICE: the local server's helper threads below its event loop, on Linux only. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError } from '../../lambda/config.js';
import {
  DEFAULT_HELPER_NICE,
  helperNice,
  lowerHelperThreads,
} from '../../local/thread-priority.js';

test.each([
  [undefined, DEFAULT_HELPER_NICE],
  ['', DEFAULT_HELPER_NICE],
  ['0', 0],
  [' 5 ', 5],
  ['19', 19],
])('LOCAL_HELPER_NICE=%p is %p', (raw, nice) => {
  expect(helperNice({ LOCAL_HELPER_NICE: raw })).toBe(nice);
});

test.each(['20', '-1', '1.5', 'low', '10x'])(
  'LOCAL_HELPER_NICE=%p is a configuration error',
  (raw) => {
    expect(() => helperNice({ LOCAL_HELPER_NICE: raw })).toThrow(ConfigError);
    expect(() => helperNice({ LOCAL_HELPER_NICE: raw })).toThrow(
      /LOCAL_HELPER_NICE: .*0 \(off\) to 19/,
    );
  },
);

test.each([
  [0, {}, 'LOCAL_HELPER_NICE=0'],
  [10, { platform: 'darwin' as const }, 'not on darwin'],
  [10, { cpus: 1 }, 'one CPU'],
])('nice %p with %p changes nothing: %s', async (nice, options, skipped) => {
  await expect(lowerHelperThreads(nice, options)).resolves.toEqual({
    nice: 0,
    threads: 0,
    skipped,
  });
});

/** Each thread's nice value in a process that lowered its helpers, read back from /proc. */
const probe = `
import { readdirSync, readFileSync } from 'node:fs';
import { lowerHelperThreads } from './local/thread-priority.ts';
const result = await lowerHelperThreads(7, { cpus: 2 });
const loop = (await import('node:os')).getPriority();
const nice = Object.fromEntries(readdirSync('/proc/self/task').map((t) => {
  const fields = readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ');
  return [t === String(process.pid) ? 'main' : t, Number(fields[16])];
}));
console.log(JSON.stringify({ result, nice, loop }));
`;

interface Probe {
  result: { nice: number; threads: number };
  /** Each thread's nice value, the event loop's under `main`. */
  nice: Record<string, number>;
  /** The event loop's nice value as the process saw it. */
  loop: number;
}

/** Runs the probe in a fresh node, under `nice -n <n>` when given. */
async function runProbe(underNice?: number): Promise<Probe> {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe];
  const [command, ...args] =
    underNice === undefined ? node : ['nice', '-n', `${underNice}`, ...node];
  const { stdout } = await promisify(execFile)(command!, args);
  return JSON.parse(stdout) as Probe;
}

const linuxOnly = process.platform === 'linux' ? test : test.skip;

linuxOnly(
  'on Linux every thread but the event loop runs that many nice levels below it, the pool included',
  async () => {
    const { result, nice, loop } = await runProbe();
    const helpers = Object.entries(nice).filter(([t]) => t !== 'main');
    expect(nice.main).toBe(loop);
    // libuv's pool alone is four threads; V8's helpers come on top.
    expect(helpers.length).toBeGreaterThanOrEqual(4);
    // Seven below the loop, whatever nice value the test itself runs at.
    const expected = Math.min(19, loop + 7);
    expect(result).toEqual({ nice: expected, threads: helpers.length });
    for (const [, value] of helpers) expect(value).toBe(expected);
  },
);

linuxOnly(
  'a server started under nice keeps its loop on top: the helpers go below it, not to a fixed value',
  async () => {
    const { result, nice, loop } = await runProbe(15);
    expect(loop).toBeGreaterThanOrEqual(15);
    expect(result.nice).toBe(19);
    for (const [t, value] of Object.entries(nice)) expect(value).toBe(t === 'main' ? loop : 19);
  },
);
