/**
 * How the local server stops: Ctrl-C lets the requests in flight be answered (for a bounded time)
 * instead of cutting them off; and a DATA_DIR deleted under it stops it, instead of leaving it
 * serving from memory what the admin and the next server no longer see.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { MemoryLog } from '../support/harness.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-stopping-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

const config = () => loadLocalConfig({ DATA_DIR: dataDir, PORT: '0', TRUSTED_ISSUERS: '[]' });

/** A token request whose body has only begun to arrive: in flight until the rest is sent. */
async function requestInFlight(server: LocalServer): Promise<{ socket: Socket; rest: string }> {
  const body = 'grant_type=client_credentials';
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  await once(socket, 'connect');
  const arrived = once(server.server, 'request');
  socket.write(
    `POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
  );
  await arrived;
  return { socket, rest: body.slice(5) };
}

function reply(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

test('stopping with a drain answers the request in flight, and takes no new connection meanwhile', async () => {
  const server = await startLocalServer(config(), { logger: new MemoryLog() });
  const { socket, rest } = await requestInFlight(server);
  const answer = reply(socket);
  const stopped = server.close({ drainMs: 10_000 });
  await expect(fetch(`${server.url}/.well-known/jwks.json`)).rejects.toThrow();
  socket.write(rest);
  expect(await answer).toMatch(
    /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"error":"unsupported_grant_type"/,
  );
  expect(await stopped).toEqual({ answered: 1, cut: 0 });
});

test('the drain is bounded: a request still unanswered when it ends is cut off, and counted', async () => {
  const server = await startLocalServer(config(), { logger: new MemoryLog() });
  const { socket } = await requestInFlight(server);
  const answer = reply(socket);
  expect(await server.close({ drainMs: 50 })).toEqual({ answered: 0, cut: 1 });
  expect(await answer).toBe('');
});

test('DATA_DIR deleted under the running server: it says so in one line, to be stopped', async () => {
  let lost!: (message: string) => void;
  const said = new Promise<string>((resolve) => (lost = resolve));
  const server = await startLocalServer(config(), {
    logger: new MemoryLog(),
    onStateLost: (message) => lost(message),
    stateCheckMs: 10,
  });
  try {
    await rm(dataDir, { recursive: true, force: true });
    let timer: NodeJS.Timeout | undefined;
    const message = await Promise.race([
      said,
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('(nothing said in 3 s)'), 3000);
      }),
    ]);
    clearTimeout(timer);
    expect(message).toBe(
      `DATA_DIR ${dataDir} was deleted or replaced under the running server (its lock is gone): stopping, so that no other server shares its clients and spent jtis; stop the server first when you delete DATA_DIR`,
    );
  } finally {
    await server.close();
  }
});

test('a server stopped after its DATA_DIR was deleted leaves the next server its admin socket', async () => {
  const first = await startLocalServer(config(), { logger: new MemoryLog() });
  await rm(dataDir, { recursive: true, force: true });
  // The folder made again, and a new server on it: its own lock and socket, at the same paths.
  const second = await startLocalServer(config(), { logger: new MemoryLog() });
  try {
    await first.close();
    expect(existsSync(join(dataDir, 'admin.sock'))).toBe(true);
    const lines: string[] = [];
    await runAdmin(['clients', 'list'], { DATA_DIR: dataDir }, (l) => lines.push(l));
    expect(lines).toEqual(['No clients registered.']);
  } finally {
    await second.close();
  }
});
