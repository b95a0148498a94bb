/** `npm start`: the authorization server on a laptop, on embedded defaults. */
import cluster from 'node:cluster';
import { ConfigError, loadLocalConfig } from '../lambda/config.js';
import { runLocalWorker, startLocalCluster, workerCount } from '../lambda/local/cluster.js';
import { startLocalServer } from '../lambda/local/server.js';
import { createLocalLogger } from '../lambda/local/batched-logger.js';
import { endpointUrl, PATHS } from '../lambda/oauth/metadata.js';
import { helperNice, lowerHelperThreads } from '../lambda/local/thread-priority.js';

async function main(): Promise<void> {
  let config;
  let workers;
  let nice;
  try {
    config = loadLocalConfig(process.env);
    workers = workerCount(process.env);
    nice = helperNice(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  if (cluster.isWorker) return runLocalWorker(config, { logger: createLocalLogger() });
  const started = performance.now();
  // One process: its signing threads yield to its event loop (lambda/local/thread-priority.ts).
  // Workers sign on their own event loops, so there is nothing to yield to. Before listening, so
  // the banner below is out before the first request can be answered.
  const helpers =
    workers > 1
      ? { nice: 0, threads: 0, skipped: 'LOCAL_WORKERS > 1' }
      : await lowerHelperThreads(nice);
  // LOCAL_WORKERS processes serve PORT (default one, which does everything).
  const server =
    workers > 1
      ? await startLocalCluster(config, { logger: createLocalLogger(), workers })
      : await startLocalServer(config, { logger: createLocalLogger() });
  const helperLine = helpers.skipped
    ? `normal priority (${helpers.skipped})`
    : `${helpers.threads} at nice ${helpers.nice}, below the event loop`;
  const ms = Math.round(performance.now() - started);
  const e = (path: string) => endpointUrl(config.issuer, path);
  console.log(
    [
      '',
      `XAA authorization server listening on ${server.url} (ready in ${ms} ms)`,
      '',
      `  issuer          ${config.issuer}`,
      `  discovery       ${e(PATHS.oauthMetadata)}`,
      `                  ${e(PATHS.openidConfiguration)}`,
      `  jwks            ${e(PATHS.jwks)}`,
      `  token           ${e(PATHS.token)}`,
      `  authorize       ${e(PATHS.authorize)}  (no interactive flow: always an error)`,
      `  data            ${config.dataDir}`,
      `  workers         ${workers} (LOCAL_WORKERS)`,
      `  helper threads  ${helperLine} (LOCAL_HELPER_NICE)`,
      '',
      '  trusted issuers',
      ...config.trustedIssuers.map(
        (t) => `    ${t.issuer}  (keys: ${t.jwksUri}; algorithms: ${t.algorithms.join(', ')})`,
      ),
      '',
      '  register a client (in another terminal):',
      '    npm run admin -- clients add --client-id my-client --scope "read write" --resource https://api.example.com/',
      '',
    ].join('\n'),
  );
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error('The server could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
