/**
 * One Lambda container for the bundle tests (bundles.ts): a plain Node process, started with the
 * function's environment and nothing of jest's, that loads the bundle's `index.mjs` the way the
 * Node.js runtime does (an ES module import, top-level await included, during init) and then runs
 * one invocation at a time, as a container does. Invocations arrive over the IPC channel; the
 * bundle's stdout and stderr stay what they are on Lambda, its log stream.
 *
 * Plain JavaScript: it must run without jest's or tsx's loaders, exactly as the bundle will.
 *
 *   node lambda-runner.mjs <asset dir>
 *   parent → { id, event, context: { functionName, ... }, traceId }
 *   child  → { type: 'ready', initMs } | { type: 'init-error', error }
 *          | { id, result } | { id, error }
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const [dir] = process.argv.slice(2);
const started = performance.now();

/** An error as the runtime reports it: name, message and the stack as the process renders it. */
const report = (err) =>
  err instanceof Error
    ? { name: err.name, message: err.message, stack: err.stack }
    : { name: typeof err, message: String(err) };

let handler;
try {
  const handlerName = (process.env._HANDLER ?? 'index.handler').split('.');
  const module = await import(pathToFileURL(join(dir, `${handlerName[0]}.mjs`)).href);
  handler = module[handlerName[1]];
  if (typeof handler !== 'function') throw new Error(`${process.env._HANDLER} is not a function`);
} catch (err) {
  process.send({ type: 'init-error', error: report(err) });
  process.disconnect();
  process.exitCode = 1;
}

if (handler) {
  // One invocation at a time: a container never runs two at once.
  let queue = Promise.resolve();
  process.on('message', (message) => {
    queue = queue.then(() => invoke(message));
  });
  process.send({ type: 'ready', initMs: Math.round(performance.now() - started) });
}

async function invoke({ id, event, context, traceId, timeoutMs }) {
  // The runtime sets the invocation's trace header in the environment, where X-Ray reads it.
  process.env._X_AMZN_TRACE_ID = traceId;
  const deadline = Date.now() + timeoutMs;
  const lambdaContext = {
    callbackWaitsForEmptyEventLoop: true,
    ...context,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(event, lambdaContext);
    process.send({ id, result: result ?? null });
  } catch (err) {
    process.send({ id, error: report(err) });
  }
}
