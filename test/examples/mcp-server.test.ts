/**
 * The example MCP server's HTTP edge (examples/mcp-server/server.ts over
 * lambda/example-resources/verifier/node-edge.ts), on loopback with raw sockets, so that what the client
 * has sent when the answer comes is known exactly: a caller without a valid token is answered from
 * its headers, its body never read; admitted bodies are capped one by one and in sum; the target
 * and the Host decide nothing but whether the request is served.
 */
import { connect, type Socket } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';

const ISSUER = 'https://as.example.test';
const RESOURCE = 'https://mcp.example.test/mcp';
const LIMITS = {
  maxBodyBytes: 64 * 1024,
  maxBufferedBytes: 128 * 1024,
  discardBytes: 256 * 1024,
  discardMs: 300,
  closeGraceMs: 100,
};

let signingKey: CryptoKey;
let mcp: RunningMcpServer;
let port: number;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  const keys = createLocalJWKSet({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }],
  });
  mcp = await startMcpServer({
    issuer: ISSUER,
    port: 0,
    resource: RESOURCE,
    keys,
    limits: LIMITS,
  });
  port = (mcp.server.address() as { port: number }).port;
});
afterAll(() => mcp.close());

const now = () => Math.floor(Date.now() / 1000);
const token = () =>
  new SignJWT({
    iss: ISSUER,
    sub: 'alice',
    aud: RESOURCE,
    client_id: 'agent',
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 300,
    scope: 'read write',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(signingKey);

/** A JSON-RPC tools/list, padded with whitespace (valid JSON) to exactly `size` bytes. */
const toolsList = (size: number) => {
  const rpc = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  return rpc + ' '.repeat(size - rpc.length);
};

/** A connection on which a request is written piece by piece, and its answer read as it comes. */
class Conn {
  readonly socket: Socket;
  private text = '';
  private readonly waiters: Array<() => void> = [];

  constructor() {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.text += d;
      this.waiters.splice(0).forEach((w) => w());
    });
    // A server that closes once it has answered may reset a client still sending: the answer
    // has arrived by then, and that is what these tests read.
    this.socket.on('error', () => undefined);
  }

  head(lines: string[]): this {
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return this;
  }

  send(bytes: string | Buffer): this {
    this.socket.write(bytes);
    return this;
  }

  /** What has arrived once it matches `pattern`, or after `ms` whatever has. */
  async waitFor(pattern: RegExp, ms = 2000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.text) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return this.text;
  }

  /** The status of the answer, once its status line has arrived; 0 if none within `ms`. */
  async status(ms = 2000): Promise<number> {
    const text = await this.waitFor(/^HTTP\/1\.1 \d{3}/, ms);
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  }

  close(): void {
    this.socket.destroy();
  }
}

const post = (headers: string[], length?: number) => [
  'POST /mcp HTTP/1.1',
  `Host: localhost:${port}`,
  'Content-Type: application/json',
  'Accept: application/json, text/event-stream',
  ...(length === undefined ? ['Transfer-Encoding: chunked'] : [`Content-Length: ${length}`]),
  ...headers,
];

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe('a caller without a valid token is answered before its body is read', () => {
  test.each([
    ['no token', []],
    ['a forged token', ['Authorization: Bearer eyJhbGciOiJub25lIn0.e30.']],
  ])('%s: 401 while the client is still sending, and nothing held', async (_name, auth) => {
    // Under the MCP SDK's own 4 MiB limit, which a server that reads first would wait for.
    const conn = new Conn().head(post(auth, 3_000_000)).send('x'.repeat(16 * 1024));
    try {
      expect(await conn.status()).toBe(401);
      expect(mcp.bufferedBytes()).toBe(0);
    } finally {
      conn.close();
    }
  });

  test('twenty such callers at once, each declaring 3 MB: every one refused, no body held', async () => {
    const conns = Array.from({ length: 20 }, () =>
      new Conn().head(post([], 3_000_000)).send('x'.repeat(32 * 1024)),
    );
    try {
      const statuses = await Promise.all(conns.map((c) => c.status()));
      expect(statuses).toEqual(conns.map(() => 401));
      expect(mcp.bufferedBytes()).toBe(0);
    } finally {
      conns.forEach((c) => c.close());
    }
  });

  test('a refused caller that keeps sending is cut off past the discard bound, answer first', async () => {
    const conn = new Conn().head(post([], 10_000_000));
    const ended = new Promise<boolean>((resolve) => {
      conn.socket.once('end', () => resolve(true));
      conn.socket.once('close', () => resolve(false));
    });
    try {
      expect(await conn.status()).toBe(401);
      const chunk = Buffer.alloc(64 * 1024, 120);
      for (let sent = 0; sent <= 2 * LIMITS.discardBytes && conn.socket.readable;) {
        if (!conn.socket.write(chunk))
          await Promise.race([new Promise((r) => conn.socket.once('drain', r)), ended]);
        sent += chunk.length;
      }
      // The server ends its side after the answer (a FIN, not a reset), then closes.
      expect(await ended).toBe(true);
    } finally {
      conn.close();
    }
  });

  test('a refused caller that sends slowly is cut off past the discard time', async () => {
    const conn = new Conn().head(post([], 100_000)).send('x');
    const started = Date.now();
    try {
      expect(await conn.status()).toBe(401);
      await new Promise((resolve) => conn.socket.once('end', resolve));
      expect(Date.now() - started).toBeGreaterThanOrEqual(LIMITS.discardMs - 50);
    } finally {
      conn.close();
    }
  });
});

test('Expect: 100-continue: a refused client is answered without a 100, an admitted one gets it', async () => {
  const expect100 = ['Expect: 100-continue'];
  const refused = new Conn().head(post(expect100, 3_000_000));
  const admitted = new Conn().head(
    post([...expect100, `Authorization: Bearer ${await token()}`], 64),
  );
  try {
    expect(await refused.status()).toBe(401);
    expect(await admitted.status()).toBe(100);
    admitted.send(toolsList(64));
    expect(await admitted.waitFor(/"whoami"/)).toMatch(
      /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /,
    );
  } finally {
    refused.close();
    admitted.close();
  }
});

describe('admitted bodies are bounded', () => {
  test('a declared body over the cap: 413, unread', async () => {
    const conn = new Conn().head(post([`Authorization: Bearer ${await token()}`], 100_000));
    try {
      expect(await conn.status()).toBe(413);
      expect(await conn.waitFor(/"error"/)).toContain('"error":"invalid_request"');
    } finally {
      conn.close();
    }
  });

  test('a chunked body that grows past the cap: 413 once it does', async () => {
    const conn = new Conn().head(post([`Authorization: Bearer ${await token()}`]));
    const chunk = 'x'.repeat(16 * 1024);
    try {
      for (let i = 0; i < 5; i++) conn.send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      expect(await conn.status()).toBe(413);
      expect(mcp.bufferedBytes()).toBe(0);
    } finally {
      conn.close();
    }
  });

  test('bodies read at once share a budget: past it 503, and the budget is given back', async () => {
    const size = 60 * 1024;
    const auth = `Authorization: Bearer ${await token()}`;
    const body = toolsList(size);
    const first = new Conn().head(post([auth], size)).send(body.slice(0, 1024));
    const second = new Conn().head(post([auth], size)).send(body.slice(0, 1024));
    const third = new Conn();
    try {
      await until(() => mcp.bufferedBytes() === 2 * size);
      third.head(post([auth], size)).send(body.slice(0, 1024));
      expect(await third.status()).toBe(503);
      expect(await third.waitFor(/\r\n\r\n/)).toMatch(/retry-after: 1/i);
      first.send(body.slice(1024));
      second.send(body.slice(1024));
      expect([await first.status(), await second.status()]).toEqual([200, 200]);
      expect(await first.waitFor(/"whoami"/)).toContain('"whoami"');
      await until(() => mcp.bufferedBytes() === 0);
    } finally {
      [first, second, third].forEach((c) => c.close());
    }
  });
});

describe('the request target and the Host', () => {
  const status = async (lines: string[]) => {
    const conn = new Conn().head(lines);
    try {
      return await conn.status();
    } finally {
      conn.close();
    }
  };
  const get = (target: string, ...headers: string[]) => [
    `GET ${target} HTTP/1.1`,
    ...headers,
    'Connection: close',
  ];
  const METADATA = '/.well-known/oauth-protected-resource/mcp';

  test('an absolute-form target naming another server is 400, naming this one is served', async () => {
    expect(await status(get('http://evil.example/mcp', `Host: localhost:${port}`))).toBe(400);
    expect(await status(get(`http://evil.example${METADATA}`, `Host: localhost:${port}`))).toBe(
      400,
    );
    expect(await status(get('http://[::1', `Host: localhost:${port}`))).toBe(400);
    expect(await status(get('*', `Host: localhost:${port}`))).toBe(400);
    expect(await status(get(`http://localhost:${port}${METADATA}`, `Host: x.example`))).toBe(200);
  });

  test('a path in the Host reroutes nothing: 400', async () => {
    // Glued to the target, `localhost/.well-known/…` + `/mcp` would be the metadata.
    expect(await status(get('/mcp', `Host: localhost:${port}/.well-known/x`))).toBe(400);
    expect(await status(get('/nothing', `Host: localhost:${port}${METADATA}?`))).toBe(400);
    expect(await status(get(METADATA, `Host: user@localhost:${port}`))).toBe(400);
  });

  test('a method a web-standard Request cannot carry is 405, not 500', async () => {
    expect(
      await status([`TRACE /mcp HTTP/1.1`, `Host: localhost:${port}`, 'Connection: close']),
    ).toBe(405);
  });

  test('no Host, two Hosts, or a Host naming another server are refused', async () => {
    expect(await status([`GET ${METADATA} HTTP/1.0`])).toBe(400);
    expect(await status(get(METADATA, 'Host: localhost', 'Host: evil.example'))).toBe(400);
    expect(await status(get(METADATA, 'Host: evil.example'))).toBe(403);
    expect(await status(get(METADATA, `Host: mcp.example.test`))).toBe(200);
    expect(await status(get(METADATA, `Host: [::1]:${port}`))).toBe(200);
  });
});
