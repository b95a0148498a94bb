/**
 * CIMD-FETCH: the outbound guard for URLs a client chose. Only public unicast addresses (each
 * resolved address checked, an IPv4-mapped address judged as the IPv4 address it is), only https
 * (http to loopback only with the development switch), no user:pass, no redirects, a size cap and
 * one deadline for the whole exchange. A refused URL is refused before any connection is made.
 */
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import {
  fetchJson,
  isPublicAddress,
  OutboundFetchError,
  type OutboundFailure,
  type OutboundFetchOptions,
} from '../../../lambda/remote/outbound-fetch.js';

describe('isPublicAddress: only ordinary public unicast addresses', () => {
  test.each([
    ['10.0.0.1', 'private 10/8'],
    ['10.255.255.255', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.254', 'private 172.16/12'],
    ['192.168.0.1', 'private 192.168/16'],
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback 127/8'],
    ['0.0.0.0', 'unspecified'],
    ['169.254.169.254', 'the cloud metadata service (link-local)'],
    ['100.64.0.1', 'carrier-grade NAT 100.64/10'],
    ['100.127.255.254', 'carrier-grade NAT 100.64/10'],
    ['224.0.0.1', 'multicast 224/4'],
    ['239.255.255.250', 'multicast 224/4'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'documentation'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'unique local fc00::/7'],
    ['fd00::1', 'unique local fc00::/7'],
    ['fd00:ec2::254', 'the IPv6 cloud metadata service (unique local)'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata service'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['::7f00:1', 'IPv4-compatible (deprecated ::/96) loopback'],
    ['::a00:1', 'IPv4-compatible (deprecated ::/96) private'],
    ['::808:808', 'IPv4-compatible (deprecated ::/96) even of a public address'],
    ['2002::', '6to4'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2001::1', 'Teredo'],
    ['2001:db8::', 'documentation 2001:db8::/32'],
    ['2001:db8::1', 'documentation 2001:db8::/32'],
    ['not-an-address', 'not an address'],
    ['', 'empty'],
    ['localhost', 'a name, not an address'],
  ])('%s (%s) is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  test.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '2a00:1450:4001::200e'])(
    '%s is public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );

  test('an IPv4-mapped public address is judged as that IPv4 address: public', () => {
    expect(isPublicAddress('::ffff:8.8.8.8')).toBe(true);
  });
});

/** A resolver that answers `answers` and remembers each name it was asked for. */
function resolverOf(answers: LookupAddress[]) {
  const asked: string[] = [];
  const resolve = (hostname: string) => {
    asked.push(hostname);
    return Promise.resolve(answers);
  };
  return Object.assign(resolve, { asked });
}

const BASE: OutboundFetchOptions = { timeoutMs: 1000, maxBytes: 1024 };

/** The failure a fetch ends with (the test fails if it resolves). */
async function failure(
  url: string,
  options: Partial<OutboundFetchOptions> = {},
): Promise<OutboundFetchError> {
  const err = await fetchJson(url, { ...BASE, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundFetchError);
  return err as OutboundFetchError;
}

async function expectKind(
  url: string,
  kind: OutboundFailure,
  options: Partial<OutboundFetchOptions> = {},
): Promise<OutboundFetchError> {
  const err = await failure(url, options);
  expect({ kind: err.kind, message: err.message }).toEqual({ kind, message: expect.any(String) });
  return err;
}

describe('fetchJson refuses before connecting', () => {
  /**
   * A TCP listener on every loopback address (IPv4 and IPv6) that counts connections: a URL
   * refused before connecting leaves the count at zero. Were a connection attempted, TLS would
   * fail on this plain socket and the answer would be `unreachable`, not `address_not_public`.
   */
  let listener: TcpServer;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    listener = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '::', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  beforeEach(() => {
    connections = 0;
  });

  test('an http URL without the development switch: url_not_allowed, nothing resolved', async () => {
    const resolve = resolverOf([{ address: '8.8.8.8', family: 4 }]);
    await expectKind(`http://localhost:${port}/doc.json`, 'url_not_allowed', { resolve });
    await expectKind('http://example.com/doc.json', 'url_not_allowed', { resolve });
    expect(resolve.asked).toEqual([]);
    expect(connections).toBe(0);
  });

  test('with the switch, http is still only for loopback names', async () => {
    const resolve = resolverOf([{ address: '8.8.8.8', family: 4 }]);
    await expectKind('http://example.com/doc.json', 'url_not_allowed', {
      resolve,
      allowHttpLoopback: true,
    });
    expect(resolve.asked).toEqual([]);
  });

  test.each([
    'https://user:pass@example.com/doc.json',
    'https://user@example.com/doc.json',
    'https://:pass@example.com/doc.json',
  ])('a URL with credentials (%s): url_not_allowed', async (url) => {
    const resolve = resolverOf([{ address: '8.8.8.8', family: 4 }]);
    await expectKind(url, 'url_not_allowed', { resolve });
    expect(resolve.asked).toEqual([]);
  });

  test.each(['ftp://example.com/doc.json', 'file:///etc/passwd', 'not a url', ''])(
    '%j: url_not_allowed',
    async (url) => {
      await expectKind(url, 'url_not_allowed');
    },
  );

  test.each([
    ['https://127.0.0.1:PORT/doc.json', 'IPv4 loopback literal'],
    ['https://[::1]:PORT/doc.json', 'IPv6 loopback literal'],
    ['https://[::ffff:127.0.0.1]:PORT/doc.json', 'IPv4-mapped loopback literal'],
    ['https://0x7f.1:PORT/doc.json', 'loopback in hex shorthand'],
    ['https://2130706433:PORT/doc.json', 'loopback as one number'],
    ['https://localhost:PORT/doc.json', 'localhost, through the real resolver'],
  ])('%s (%s): address_not_public, no connection', async (template, _what) => {
    const url = template.replace('PORT', String(port));
    const err = await expectKind(url, 'address_not_public', { timeoutMs: 5000 });
    expect(err.message).toMatch(/not (a )?public/);
    expect(connections).toBe(0);
  });

  test('https://169.254.169.254 (the metadata service): address_not_public, never resolved', async () => {
    const resolve = resolverOf([{ address: '8.8.8.8', family: 4 }]);
    await expectKind('https://169.254.169.254/latest/meta-data/', 'address_not_public', {
      resolve,
    });
    expect(resolve.asked).toEqual([]);
  });

  test.each<[string, LookupAddress[]]>([
    [
      'a public and then a private answer',
      [
        { address: '8.8.8.8', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
    ],
    [
      'a private and then a public answer',
      [
        { address: '127.0.0.1', family: 4 },
        { address: '8.8.8.8', family: 4 },
      ],
    ],
    [
      'a public IPv4 and a loopback IPv6 answer',
      [
        { address: '1.1.1.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    ],
    ['an IPv4-mapped private answer', [{ address: '::ffff:192.168.1.1', family: 6 }]],
  ])('a name resolving to %s: address_not_public, no connection', async (_what, answers) => {
    const resolve = resolverOf(answers);
    await expectKind(`https://agents.example.com:${port}/doc.json`, 'address_not_public', {
      resolve,
    });
    expect(resolve.asked).toEqual(['agents.example.com']);
    expect(connections).toBe(0);
  });

  test('a name that does not resolve, or resolves to nothing: unreachable', async () => {
    await expectKind('https://agents.example.com/doc.json', 'unreachable', {
      resolve: () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })),
    });
    await expectKind('https://agents.example.com/doc.json', 'unreachable', {
      resolve: () => Promise.resolve([]),
    });
  });

  test('a resolver that never answers: timeout, within the budget', async () => {
    const started = performance.now();
    await expectKind('https://agents.example.com/doc.json', 'timeout', {
      timeoutMs: 200,
      resolve: () => new Promise<never>(() => undefined),
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1500);
    expect(connections).toBe(0);
  });
});

describe('fetchJson over loopback http (the development switch)', () => {
  let server: Server;
  let origin: string;
  const hits = new Map<string, number>();
  const routes = new Map<string, (res: ServerResponse) => void>();
  const LOOPBACK: Partial<OutboundFetchOptions> = { allowHttpLoopback: true };

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const route = routes.get(path);
      if (route) route(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  let n = 0;
  /** A fresh path answered by `respond`; returns its URL. */
  const serve = (respond: (res: ServerResponse) => void): string => {
    const path = `/p${++n}`;
    routes.set(path, respond);
    return `${origin}${path}`;
  };
  const json = (body: unknown, headers: Record<string, string> = {}) =>
    serve((res) =>
      res
        .writeHead(200, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify(body)),
    );

  test('a 200 JSON document is read; no Cache-Control: no max-age, reusable', async () => {
    const fetched = await fetchJson(json({ hello: 'world', n: [1, 2] }), { ...BASE, ...LOOPBACK });
    expect(fetched).toEqual({
      body: { hello: 'world', n: [1, 2] },
      maxAge: undefined,
      noStore: false,
    });
  });

  test('http://localhost is fetched too (its name resolved by the resolver given)', async () => {
    const url = json({ ok: true }).replace('127.0.0.1', 'localhost');
    const resolve = resolverOf([{ address: '127.0.0.1', family: 4 }]);
    expect((await fetchJson(url, { ...BASE, ...LOOPBACK, resolve })).body).toEqual({ ok: true });
    expect(resolve.asked).toEqual(['localhost']);
  });

  test('the connection goes to the address the check resolved, not to a second resolution', async () => {
    // Only 127.0.0.2 serves this: the system's `localhost` (127.0.0.1, ::1) would find nothing.
    const pinned = createHttpServer((_req, res) => res.writeHead(200).end('{"pinned":true}'));
    await new Promise<void>((resolve) => pinned.listen(0, '127.0.0.2', resolve));
    try {
      const { port } = pinned.address() as AddressInfo;
      const resolve = resolverOf([{ address: '127.0.0.2', family: 4 }]);
      const fetched = await fetchJson(`http://localhost:${port}/doc.json`, {
        ...BASE,
        ...LOOPBACK,
        resolve,
      });
      expect(fetched.body).toEqual({ pinned: true });
      expect(resolve.asked).toEqual(['localhost']);
    } finally {
      pinned.closeAllConnections();
      await new Promise<void>((resolve) => pinned.close(() => resolve()));
    }
  });

  test.each<[string, { maxAge: number | undefined; noStore: boolean }]>([
    ['max-age=120', { maxAge: 120, noStore: false }],
    ['public, max-age=600', { maxAge: 600, noStore: false }],
    ['Max-Age=30', { maxAge: 30, noStore: false }],
    ['no-store', { maxAge: undefined, noStore: true }],
    ['no-cache', { maxAge: undefined, noStore: true }],
    ['max-age=60, no-store', { maxAge: 60, noStore: true }],
    ['max-age=abc', { maxAge: undefined, noStore: false }],
    ['max-age=-5', { maxAge: undefined, noStore: false }],
  ])('Cache-Control: %s', async (header, expected) => {
    const fetched = await fetchJson(json({}, { 'cache-control': header }), {
      ...BASE,
      ...LOOPBACK,
    });
    expect({ maxAge: fetched.maxAge, noStore: fetched.noStore }).toEqual(expected);
  });

  test.each([301, 302, 303, 307, 308])(
    'a %i redirect: redirect_refused, and its Location is never fetched',
    async (status) => {
      const target = serve((res) => res.writeHead(200).end('{}'));
      const targetPath = new URL(target).pathname;
      const url = serve((res) => res.writeHead(status, { location: target }).end());
      await expectKind(url, 'redirect_refused', LOOPBACK);
      expect(hits.get(targetPath)).toBeUndefined();
    },
  );

  test.each([500, 404, 204, 201])('HTTP %i: http_status', async (status) => {
    const err = await expectKind(
      serve((res) => res.writeHead(status).end()),
      'http_status',
      LOOPBACK,
    );
    expect(err.message).toContain(String(status));
  });

  test('a body over the cap, declared in Content-Length: too_large', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(2000) });
    await expectKind(
      serve((res) =>
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          })
          .end(body),
      ),
      'too_large',
      LOOPBACK,
    );
  });

  test('a chunked body over the cap (no Content-Length): too_large, and reading stops', async () => {
    let written = 0;
    let closed = false;
    const url = serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => (closed = true));
      res.write('{"pad":"');
      // An endless stream: only the cap ends the exchange.
      const pump = () => {
        while (!res.destroyed && written < 50 * 1024 * 1024) {
          written += 512;
          if (!res.write('x'.repeat(512))) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const err = await expectKind(url, 'too_large', { ...LOOPBACK, timeoutMs: 5000 });
    expect(err.message).toMatch(/larger than 1024 bytes/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(true);
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });

  test('a body exactly at the cap is read', async () => {
    const body = `"${'x'.repeat(BASE.maxBytes - 2)}"`;
    expect(Buffer.byteLength(body)).toBe(BASE.maxBytes);
    const url = serve((res) => res.writeHead(200).end(body));
    expect((await fetchJson(url, { ...BASE, ...LOOPBACK })).body).toBe('x'.repeat(1022));
  });

  test.each<[string, string | Buffer]>([
    ['HTML', '<html>hello</html>'],
    ['an empty body', ''],
    ['truncated JSON', '{"client_id": "https://a'],
    ['JSON with trailing garbage', '{}x'],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    ],
    [
      'a lone surrogate encoded in UTF-8',
      Buffer.concat([Buffer.from('"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"')]),
    ],
  ])('%s: not_json', async (_what, body) => {
    await expectKind(
      serve((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body)),
      'not_json',
      LOOPBACK,
    );
  });

  test('a server that accepts and never answers: timeout, within the budget', async () => {
    const url = serve(() => undefined);
    const started = performance.now();
    await expectKind(url, 'timeout', { ...LOOPBACK, timeoutMs: 300 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  test('a server that sends its headers and then stalls: timeout, within the budget', async () => {
    const url = serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"slow":');
    });
    const started = performance.now();
    await expectKind(url, 'timeout', { ...LOOPBACK, timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('a port nobody listens on: unreachable', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expectKind(`http://127.0.0.1:${port}/doc.json`, 'unreachable', LOOPBACK);
  });
});
