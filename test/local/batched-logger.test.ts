/**
 * The local server's logger: Powertools' JSON lines, one write per event-loop turn, nothing lost
 * when the process exits straight after logging.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LineBatch } from '../../local/batched-logger.js';

test('lines pushed in one turn go out in one write, in order, on the next', async () => {
  const writes: string[] = [];
  const batch = new LineBatch((text) => writes.push(text));
  batch.push('a\n');
  batch.push('b\n');
  batch.push('c\n');
  expect(writes).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(writes).toEqual(['a\nb\nc\n']);
  batch.push('d\n');
  await new Promise((r) => setImmediate(r));
  expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  batch.flush();
  expect(writes).toHaveLength(2);
});

test('a process that logs and exits at once has written every line, each level to its stream', async () => {
  const script = [
    "import { createLocalLogger } from './local/batched-logger.ts';",
    'const log = createLocalLogger();',
    "log.info('first', { n: 1 });",
    "log.child = log.createChild({ persistentKeys: { part: 'child' } });",
    "log.child.info('from the child');",
    "log.warn('careful');",
    "log.error('failed', { cause: new Error('boom') });",
    "log.debug('not at INFO');",
    'process.exit(0);',
  ].join('\n');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO' } },
  );
  const lines = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const out = lines(stdout);
  expect(out.map((l) => l.message)).toEqual(['first', 'from the child']);
  expect(out[0]).toMatchObject({ level: 'INFO', service: 'xaa-auth-server', n: 1 });
  expect(out[1]).toMatchObject({ part: 'child' });
  const err = lines(stderr);
  expect(err.map((l) => l.level)).toEqual(['WARN', 'ERROR']);
  // Powertools' error formatting (name, message, stack) is kept.
  expect(err[1]).toMatchObject({ cause: { name: 'Error', message: 'boom' } });
});
