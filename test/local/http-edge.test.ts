/**
 * The local server's HTTP edge, as the outside review probed it: a header sent twice is not
 * silently narrowed to its first value (REQ-DUPLICATE), and an unknown path is answered without
 * caching and without echoing the request (RESP-ERRORS).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { LocalFixture } from '../support/local-fixture.js';
import { basicAuth, formBody } from '../support/events.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { headersOf } from '../../local/http-bridge.js';

let f: LocalFixture;
beforeAll(async () => {
  f = await LocalFixture.start();
});
afterAll(() => f.close());

function send(
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body = '',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    // `path` as sent, byte for byte: a URL string would be normalised by the client first.
    const req = request(f.server.url, { method, headers, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('two Authorization headers are invalid_request, not the first one taken', async () => {
  const { client_id, client_secret } = await f.addClient();
  const assertion = await f.mint(client_id);
  const res = await send(
    'POST',
    '/token',
    {
      'content-type': 'application/x-www-form-urlencoded',
      // The first is right: a server that takes it would issue a token.
      authorization: [basicAuth(client_id, client_secret), basicAuth('someone', 'else')],
    },
    formBody({ grant_type: JWT_BEARER_GRANT, assertion }),
  );
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
  expect(res.body).not.toContain('access_token');
});

test('an unknown path is a 404 with no-store that does not echo the path', async () => {
  const probe = '/<script>alert(1)</script>';
  const res = await send('GET', encodeURI(probe), {});
  expect(res.status).toBe(404);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).not.toContain('alert');
  expect(JSON.parse(res.body)).toEqual({
    error: 'not_found',
    error_description: 'no such endpoint',
  });
});

test('the request target is routed as API Gateway does: path only, query apart', async () => {
  const plain = await send('GET', '/.well-known/jwks.json', {});
  expect(plain.status).toBe(200);
  const withQuery = await send('GET', '/.well-known/jwks.json?x=1&y', {});
  expect(withQuery.status).toBe(200);
  expect(withQuery.body).toBe(plain.body);
  // Not normalised away: API Gateway's rawPath is the path as sent.
  expect((await send('GET', '/.well-known/./jwks.json', {})).status).toBe(404);
});

test('an absolute-form request target (RFC 9112 §3.2.2) reaches its route', async () => {
  const res = await send('GET', 'http://auth.example.com/.well-known/jwks.json?x=1', {});
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body)).toHaveProperty('keys');
});

test('a body over the limit is refused in full, and the server reads on', async () => {
  const { client_id, client_secret } = await f.addClient();
  const huge = formBody({
    grant_type: JWT_BEARER_GRANT,
    assertion: 'x'.repeat(200_000),
    client_id,
    client_secret,
  });
  const res = await send(
    'POST',
    '/token',
    { 'content-type': 'application/x-www-form-urlencoded' },
    huge,
  );
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
  // Sent in many chunks; the next request on the server is answered as usual.
  expect((await send('GET', '/.well-known/jwks.json', {})).status).toBe(200);
});

/** One request written byte for byte on a fresh connection; the status line's code. */
function rawStatus(requestLine: string): Promise<number> {
  const { port } = new URL(f.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.end(`${requestLine}\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

test('a request target that is not a URL is a 404, not a 500', async () => {
  expect(await rawStatus('GET http://[::1 HTTP/1.1')).toBe(404);
  expect(await rawStatus('GET http:// HTTP/1.1')).toBe(404);
  expect(await rawStatus('GET /.well-known/jwks.json HTTP/1.1')).toBe(200);
});

test('headers are joined as API Gateway does, names like Object.prototype members included', () => {
  const headers = headersOf({
    rawHeaders: [
      ...['Content-Type', 'application/x-www-form-urlencoded'],
      ...['DPoP', 'a'],
      ...['dpop', 'b'],
      ...['constructor', 'x'],
      ...['__proto__', 'y'],
      ...['hasOwnProperty', 'z'],
    ],
  });
  expect(Object.entries(headers)).toEqual([
    ['content-type', 'application/x-www-form-urlencoded'],
    ['dpop', 'a,b'],
    ['constructor', 'x'],
    ['__proto__', 'y'],
    ['hasownproperty', 'z'],
  ]);
});
