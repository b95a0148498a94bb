/**
 * DynamoDB on a laptop: dynalite, in-process, on a loopback port, so the same DynamoDB adapters
 * that run on AWS run here. Its LevelDB files can be open in one process only, so the process that
 * opens them writes its endpoint to DATA_DIR and others (the admin command) talk to it over HTTP.
 */
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { CLIENTS_TABLE, REPLAY_TABLE } from '../aws/tables.js';

export const LOCAL_TABLES = { clients: 'clients', replay: 'replay' } as const;

export interface LocalDynamo {
  readonly db: DynamoDBClient;
  readonly endpoint: string;
  /** True when this process runs the dynalite server (false when it reuses a running one). */
  readonly owned: boolean;
  close(): Promise<void>;
}

function localDynamoClient(
  endpoint: string,
  options: { maxAttempts?: number; timeoutMs?: number } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.timeoutMs && {
      requestHandler: { requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs },
    }),
  });
}

/** Starts dynalite on 127.0.0.1 over `dir` (in memory when undefined) and creates the tables. */
export async function startLocalDynamo(dir: string | undefined): Promise<LocalDynamo> {
  if (dir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const server = dynalite({
    ...(dir && { path: dir }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const db = localDynamoClient(endpoint);
  await ensureTables(db);
  return {
    db,
    endpoint,
    owned: true,
    close: async () => {
      db.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A table with one string partition key, on demand: the shape of both of this server's tables. */
export async function createTable(db: DynamoDBClient, name: string, key: string): Promise<void> {
  await db.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function ensureTables(db: DynamoDBClient): Promise<void> {
  const { TableNames = [] } = await db.send(new ListTablesCommand({}));
  const wanted = [
    { name: LOCAL_TABLES.clients, key: CLIENTS_TABLE.partitionKey },
    { name: LOCAL_TABLES.replay, key: REPLAY_TABLE.partitionKey },
  ];
  for (const { name, key } of wanted) {
    if (TableNames.includes(name)) continue;
    try {
      await createTable(db, name, key);
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
}

const endpointFile = (dataDir: string) => join(dataDir, 'dynamodb.endpoint');
const storeDir = (dataDir: string) => join(dataDir, 'dynamodb');

/** The server's store: opened here, and its endpoint published for other processes. */
export async function serveLocalDynamo(dataDir: string): Promise<LocalDynamo> {
  const local = await startLocalDynamo(storeDir(dataDir));
  await writeFile(endpointFile(dataDir), local.endpoint + '\n', { mode: 0o600 });
  return {
    ...local,
    close: async () => {
      await rm(endpointFile(dataDir), { force: true });
      await local.close();
    },
  };
}

/** For a short-lived command: the running server's store if it answers, else the files directly. */
export async function connectLocalDynamo(dataDir: string): Promise<LocalDynamo> {
  const endpoint = (await readFile(endpointFile(dataDir), 'utf8').catch(() => '')).trim();
  if (endpoint) {
    const db = localDynamoClient(endpoint, { maxAttempts: 1, timeoutMs: 1000 });
    try {
      await db.send(new ListTablesCommand({}));
      return { db, endpoint, owned: false, close: async () => db.destroy() };
    } catch {
      db.destroy(); // a stale file from a server that is gone
    }
  }
  return startLocalDynamo(storeDir(dataDir));
}
