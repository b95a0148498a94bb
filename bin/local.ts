/** `npm start`: the authorization server on a laptop, on embedded defaults. */
import cluster from 'node:cluster';
import { ConfigError, loadLocalConfig, type ClientMetadataPolicy } from '../lambda/config.js';
import {
  runLocalWorker,
  startLocalCluster,
  workerCount,
  type LocalCluster,
} from '../local/cluster.js';
import { startLocalServer, type LocalServer } from '../local/server.js';
import { createLocalLogger } from '../local/batched-logger.js';
import { endpointUrl, PATHS } from '../lambda/oauth/metadata.js';
import { helperNice, lowerHelperThreads } from '../local/thread-priority.js';

/** How long Ctrl-C waits for the requests in flight before it cuts them off. */
const DRAIN_MS = 5000;

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
  // One process: its signing threads yield to its event loop (local/thread-priority.ts).
  // Workers sign on their own event loops, so there is nothing to yield to. Before listening, so
  // what the banner says holds from the first request on.
  const helpers =
    workers > 1
      ? { nice: 0, threads: 0, skipped: 'LOCAL_WORKERS > 1' }
      : await lowerHelperThreads(nice);
  // Set once started: a stop requested before that has nothing in flight to wait for.
  const running: { server?: LocalServer | LocalCluster } = {};
  let stoppingSince: number | undefined;
  /** Stops taking connections, lets the requests in flight finish (bounded), and exits. */
  const stop = (why: string, code: number) => {
    if (stoppingSince !== undefined) {
      // One signal can arrive twice at once (sent to the process and to its group, as `timeout`
      // does); a second Ctrl-C comes later, and does not wait for the drain.
      if (performance.now() - stoppingSince < 500) return;
      console.log(`${why}: stopped at once, cutting off the requests still in flight.`);
      process.exit(code || 130);
    }
    stoppingSince = performance.now();
    const { server } = running;
    if (!server) process.exit(code);
    if (why)
      console.log(
        `\n${why}: stopping; requests in flight get up to ${DRAIN_MS / 1000} s to be answered (Ctrl-C again not to wait)`,
      );
    server.close({ drainMs: DRAIN_MS }).then(
      ({ answered, cut }) => {
        const said =
          answered + cut === 0
            ? 'no request was in flight'
            : [
                `${answered} request${answered === 1 ? '' : 's'} in flight answered`,
                ...(cut > 0 ? [`${cut} cut off after ${DRAIN_MS / 1000} s`] : []),
              ].join(', ');
        if (why) console.log(`Stopped: ${said}.`);
        process.exit(code);
      },
      (err: unknown) => {
        console.error('Stopping failed:', err instanceof Error ? err.message : err);
        process.exit(1);
      },
    );
  };
  // DATA_DIR deleted under the server: say so in one line and stop (local/server.ts).
  const onStateLost = (message: string) => {
    console.error(message);
    stop('', 1);
  };
  // LOCAL_WORKERS processes serve PORT (default one, which does everything).
  const logger = createLocalLogger();
  const server = (running.server =
    workers > 1
      ? await startLocalCluster(config, { logger, workers, onStateLost })
      : await startLocalServer(config, { logger, onStateLost }));
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  const helperLine = helpers.skipped
    ? `normal priority (${helpers.skipped})`
    : `${helpers.threads} at nice ${helpers.nice}, below the event loop`;
  const ms = Math.round(performance.now() - started);
  // The first JWKS fetches end within their timeout (2 s); the banner marks an issuer they missed.
  const unreachable = await server.unreachableIssuers;
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
      ...config.trustedIssuers.flatMap((t) => {
        const line = `    ${t.issuer}  (keys: ${t.jwksUri}; algorithms: ${t.algorithms.join(', ')})`;
        const why = unreachable.get(t.issuer);
        return why === undefined
          ? [line]
          : [
              line,
              `      \u2718 keys unreachable (${why}): its ID-JAGs get 503 temporarily_unavailable until a fetch succeeds (tried again on demand)`,
            ];
      }),
      ...clientMetadataLines(config.clientMetadata),
      '',
      '  register a client (in another terminal):',
      '    npm run admin -- clients add --client-id my-client --scope "read write" --resource https://api.example.com/',
      '',
      `  stop with Ctrl-C: requests in flight get up to ${DRAIN_MS / 1000} s to be answered`,
      '',
    ].join('\n'),
  );
}

/** CIMD-POLICY: which unregistered clients are admitted, in the banner when any are. */
function clientMetadataLines(policy: ClientMetadataPolicy): string[] {
  if (policy.rules.length === 0) return [];
  return [
    '',
    `  client metadata documents (CLIENT_METADATA_DOCUMENTS${policy.allowHttpLoopback ? '; http://localhost too' : ''})`,
    ...policy.rules.map(
      (r) =>
        `    ${r.urlPrefix}…  (scope: ${r.scopes.join(' ')}; resources: ${r.resources.join(' ')})`,
    ),
  ];
}

main().catch((err: unknown) => {
  console.error('The server could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
