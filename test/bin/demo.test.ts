/** `npm run demo`'s command line: it says what it does, and refuses what it does not know. */
import { spawnSync } from 'node:child_process';
import { DEMO_USAGE, demoChoice } from '../../bin/demo.js';

test.each([
  [[], { run: 'flow' }],
  [['--mcp'], { run: 'mcp' }],
  [['--mcp', '--cimd'], { run: 'mcp-cimd' }],
  [['--cimd'], { run: 'mcp-cimd' }],
  [['--help'], { help: DEMO_USAGE }],
  [['-h'], { help: DEMO_USAGE }],
  [['--mpc'], { problem: 'npm run demo: unknown option --mpc: did you mean --mcp?' }],
  [['--verbose'], { problem: 'npm run demo: unknown option --verbose' }],
  [['mcp'], { problem: 'npm run demo: unexpected argument "mcp"' }],
  [['--mcp=yes'], { problem: 'npm run demo: --mcp takes no value' }],
  [['--mcp', '--cmid'], { problem: 'npm run demo: unknown option --cmid: did you mean --cimd?' }],
])('npm run demo -- %j', (argv, choice) => {
  expect(demoChoice(argv)).toEqual(choice);
});

test('--help says what the demo does and what --mcp and --cimd change', () => {
  expect(DEMO_USAGE).toMatch(/^Usage: npm run demo \[-- --mcp \[--cimd\]\]\n/);
  expect(DEMO_USAGE).toMatch(/temporary DATA_DIR, a development IdP and a protected resource/);
  expect(DEMO_USAGE).toMatch(/--mcp {4}the same flow as an AI agent sees it/);
  expect(DEMO_USAGE).toMatch(/--cimd {3}\(implies --mcp\) the agent is not registered at all/);
  expect(DEMO_USAGE).toMatch(/Client ID Metadata Document/);
  expect(DEMO_USAGE).toMatch(/private_key_jwt/);
});

test('as a command: an unknown option runs nothing, exits 2, and says why with the usage', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/demo.ts', '--mpc'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toBe(
    `npm run demo: unknown option --mpc: did you mean --mcp?\n\n${DEMO_USAGE}\n`,
  );
}, 30_000);
