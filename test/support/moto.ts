/**
 * moto_server for the AWS adapter integration tests. Under the jest config, one server serves the
 * whole run (moto-server.ts passes its address in MOTO_ENDPOINT) and each test file isolates itself
 * with unique names; a file run any other way starts its own. Without moto_server the tests are
 * skipped with a visible notice, except under CI=true, where its absence fails the run.
 */
import { motoOnPath, startMotoProcess } from './moto-server.js';
import type { KMSClient } from '@aws-sdk/client-kms';

export const MOTO_REGION = 'us-east-1';

export interface Moto {
  readonly endpoint: string;
  /** Settings for an SDK v3 client that talks to this server. */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  stop(): Promise<void>;
}

export function motoAvailable(): boolean {
  if (process.env.MOTO_ENDPOINT) return true;
  if (process.env.MOTO_UNAVAILABLE) return false; // the global set-up already looked
  return motoOnPath();
}

/** What the global set-up saw when it could not start moto_server, if it tried. */
const why = () => (process.env.MOTO_UNAVAILABLE ? ` (${process.env.MOTO_UNAVAILABLE})` : '');

/**
 * `describe` for moto suites: runs them when moto_server is on the PATH; otherwise skips them with
 * a notice on stderr, or, under CI=true, registers a failing test so the absence cannot go unseen.
 */
export function describeWithMoto(name: string, suite: () => void): void {
  if (motoAvailable()) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('moto_server is installed (required when CI=true)', () => {
        throw new Error(
          `moto_server is not on the PATH: install it (pip install "moto[server]") to run the AWS adapter tests${why()}`,
        );
      });
    });
    return;
  }
  process.stderr.write(
    `\n*** SKIPPED "${name}": moto_server is not on the PATH (pip install "moto[server]")${why()}; CI=true makes this a failure ***\n\n`,
  );
  describe.skip(name, suite);
}

/** The run's shared moto_server if there is one (stop() then leaves it running), else a new one. */
export async function startMoto(): Promise<Moto> {
  const shared = process.env.MOTO_ENDPOINT;
  const { endpoint, stop } = shared
    ? { endpoint: shared, stop: async () => undefined }
    : await startMotoProcess();
  return {
    endpoint,
    clientConfig: {
      endpoint,
      region: MOTO_REGION,
      credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' },
      maxAttempts: 1,
    },
    stop,
  };
}

/** A name no other test in this moto server uses. */
/** Records the name of every command `kms` sends, to see what reaches the wire. */
export function recordCommands(kms: KMSClient, into: string[]): void {
  kms.middlewareStack.add(
    (next, context) => async (args) => {
      into.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export { createTable } from './dynamodb-tables.js';
