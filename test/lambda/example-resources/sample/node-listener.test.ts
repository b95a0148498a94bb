/**
 * The sample resource served locally (lambda/example-resources/sample/node-listener.ts), on loopback with
 * raw sockets: the token and the route's scope are checked from the headers, before the body is
 * read; admitted bodies are capped one by one and in sum; the target and the Host are checked as
 * the MCP server's are.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import {
  createResourceListener,
  type ResourceListener,
} from '../../../../lambda/example-resources/sample/node-listener.js';

const ISSUER = 'https://as.example.test';
const RESOURCE = 'https://api.example.test/';
const LIMITS = { maxBodyBytes: 8 * 1024, maxBufferedBytes: 16 * 1024, discardBytes: 64 * 1024 };

let signingKey: CryptoKey;
let listener: ResourceListener;
let server: Server;
let port: number;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  const keys = createLocalJWKSet({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }],
  });
  listener = createResourceListener({
    issuer: ISSUER,
    resource: RESOURCE,
    jwksUri: 'https://as.example.test/jwks',
    keys,
    limits: LIMITS,
  });
  server = createServer(listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const now = () => Math.floor(Date.now() / 1000);
const token = (scope = 'read write') =>
  new SignJWT({
    iss: ISSUER,
    sub: 'alice',
    aud: RESOURCE,
    client_id: 'agent',
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 300,
    scope,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(signingKey);

/** A request written piece by piece on its own connection; its answer read as it comes. */
function open(
  lines: string[],
  body = '',
): { socket: Socket; answer: (ms?: number) => Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => undefined); // a reset after the answer: the answer is what is read
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  return {
    socket,
    answer: async (ms = 2000) => {
      const deadline = Date.now() + ms;
      while (!/\r\n\r\n/.test(text) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      return text;
    },
  };
}
const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

const notes = (length: number, ...headers: string[]) => [
  'POST /api/notes HTTP/1.1',
  `Host: localhost:${port}`,
  'Content-Type: application/json',
  `Content-Length: ${length}`,
  ...headers,
];

test.each([
  ['no token', [] as string[], 401],
  ['a forged token', ['Authorization: Bearer eyJhbGciOiJub25lIn0.e30.'], 401],
])('%s: %i while the client is still sending a 3 MB body', async (_n, auth, status) => {
  const req = open(notes(3_000_000, ...auth), 'x'.repeat(16 * 1024));
  try {
    expect(statusOf(await req.answer())).toBe(status);
    expect(listener.bufferedBytes()).toBe(0);
  } finally {
    req.socket.destroy();
  }
});

test('a token without the route\u2019s scope: 403 before the body is read', async () => {
  const req = open(notes(3_000_000, `Authorization: Bearer ${await token('read')}`), 'x');
  try {
    expect(statusOf(await req.answer())).toBe(403);
  } finally {
    req.socket.destroy();
  }
});

test('an admitted body is read and answered; over the cap 413; over the budget 503', async () => {
  const auth = `Authorization: Bearer ${await token()}`;
  const ok = open([...notes(2, auth), 'Connection: close'], '{}');
  expect(statusOf(await ok.answer())).toBe(200);
  const tooLarge = open(notes(LIMITS.maxBodyBytes + 1, auth));
  expect(statusOf(await tooLarge.answer())).toBe(413);
  // Two bodies of 8 KiB fill the 16 KiB budget while they are being sent; a third waits for none.
  const first = open(notes(LIMITS.maxBodyBytes, auth), 'x');
  const second = open(notes(LIMITS.maxBodyBytes, auth), 'x');
  for (let i = 0; i < 200 && listener.bufferedBytes() < LIMITS.maxBufferedBytes; i++)
    await new Promise((r) => setTimeout(r, 5));
  expect(listener.bufferedBytes()).toBe(LIMITS.maxBufferedBytes);
  const third = open(notes(LIMITS.maxBodyBytes, auth), 'x');
  try {
    expect(statusOf(await third.answer())).toBe(503);
    first.socket.write('x'.repeat(LIMITS.maxBodyBytes - 1));
    second.socket.write('x'.repeat(LIMITS.maxBodyBytes - 1));
    expect([statusOf(await first.answer()), statusOf(await second.answer())]).toEqual([200, 200]);
    for (let i = 0; i < 200 && listener.bufferedBytes() > 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(listener.bufferedBytes()).toBe(0);
  } finally {
    [ok, tooLarge, first, second, third].forEach((r) => r.socket.destroy());
  }
});

test('an absolute-form target naming another server, or a Host with a path: 400', async () => {
  const get = (target: string, host: string) =>
    open([`GET ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'])
      .answer()
      .then(statusOf);
  expect(await get('http://evil.example/.well-known/oauth-protected-resource', 'localhost')).toBe(
    400,
  );
  expect(await get('/api/profile', `localhost:${port}/.well-known/oauth-protected-resource?`)).toBe(
    400,
  );
  expect(await get('/.well-known/oauth-protected-resource', 'evil.example')).toBe(403);
  expect(await get('/.well-known/oauth-protected-resource', `localhost:${port}`)).toBe(200);
  expect(await get('http://api.example.test/.well-known/oauth-protected-resource', 'x')).toBe(200);
});
