/**
 * What a trusted but broken (or hostile) IdP's JWKS cannot do to us (JAG-JWKS-FETCH): make us read
 * an unbounded body, keep trusting a revoked key while its endpoint fails, fail a request with a
 * malformed key, make every verification costly with an RSA exponent past 32 bits, or let one key
 * verify under two algorithms.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { errors } from 'jose';
import { loadServiceConfig } from '../../../lambda/config.js';
import { RemoteIssuerKeys } from '../../../lambda/remote/issuer-keys.js';
import { TemporarilyUnavailable } from '../../../lambda/oauth/errors.js';
import { makeKey, TestIdp } from '../../support/test-idp.js';
import { largeExponentKey } from '../oauth/rsa-exponent-keys.js';

let idp: TestIdp;
let now: number;
beforeEach(async () => {
  idp = await TestIdp.start();
  now = 1_000_000;
});
afterEach(() => idp.stop());

function keysFor(
  issuer: Record<string, unknown>,
  options: ConstructorParameters<typeof RemoteIssuerKeys>[1] = {},
) {
  const config = loadServiceConfig({
    ISSUER: 'https://as.example',
    TRUSTED_ISSUERS: JSON.stringify([issuer]),
  });
  return new RemoteIssuerKeys(config.trustedIssuers, {
    now: () => now,
    timeoutMs: 2_000,
    ...options,
  });
}

const resolve = (keys: RemoteIssuerKeys, issuer: string, kid: string, alg = 'RS256') =>
  keys.resolverFor(issuer)({ alg, kid }, { payload: '', signature: '', protected: '' });

describe('a JWKS body is bounded', () => {
  let server: Server;
  let sent = 0;
  let issuer: string;
  const FIFTY_MB = 50 * 1024 * 1024;

  beforeEach(async () => {
    sent = 0;
    // 50 MB of valid-looking JSON, streamed: {"keys":[{...},{...},...]}
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const key = JSON.stringify({ ...idp.key.publicJwk, kid: 'x'.repeat(64) });
      const chunk = Buffer.from(`${key},`.repeat(Math.ceil(65536 / (key.length + 1))));
      res.write('{"keys":[');
      const pump = () => {
        while (sent < FIFTY_MB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(`${key}]}`);
      };
      res.on('error', () => undefined);
      pump();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    server.close();
  });

  test('a 50 MB JWKS is refused after its first bytes, and memory stays where it was', async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const fetchErrors: unknown[] = [];
    const keys = keysFor(
      { issuer, jwks_uri: `${issuer}/jwks` },
      { onFetchError: (_i, e) => fetchErrors.push(e) },
    );
    await expect(resolve(keys, issuer, idp.key.kid)).rejects.toBeInstanceOf(TemporarilyUnavailable);
    expect(String(fetchErrors[0])).toMatch(/larger than 262144 bytes/);
    expect(sent).toBeLessThan(FIFTY_MB); // the server was stopped mid-body, not read to the end
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  });

  test('a declared Content-Length over the limit is refused unread', async () => {
    const big = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(FIFTY_MB),
      });
      res.write('{"keys":[');
      res.on('error', () => undefined);
    });
    big.listen(0, '127.0.0.1');
    await once(big, 'listening');
    const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}`;
    try {
      const fetchErrors: unknown[] = [];
      const keys = keysFor(
        { issuer: url, jwks_uri: `${url}/jwks` },
        { onFetchError: (_i, e) => fetchErrors.push(e) },
      );
      await expect(resolve(keys, url, idp.key.kid)).rejects.toBeInstanceOf(TemporarilyUnavailable);
      expect(String(fetchErrors[0])).toMatch(/larger than/);
    } finally {
      big.closeAllConnections();
      big.close();
    }
  });
});

test('a JWKS with more keys than the limit is refused whole', async () => {
  idp.published = await Promise.all(Array.from({ length: 5 }, () => makeKey()));
  const keys = keysFor(idp.trusted(), { maxKeys: 4 });
  await expect(resolve(keys, idp.issuer, idp.key.kid)).rejects.toBeInstanceOf(
    TemporarilyUnavailable,
  );
});

test('a cached key set stops being trusted once it is older than maxStale while refreshes fail', async () => {
  const keys = keysFor(idp.trusted(), { maxAgeMs: 60_000, maxStaleMs: 3_600_000 });
  await expect(resolve(keys, idp.issuer, idp.key.kid)).resolves.toBeDefined();
  idp.mode = 'error';
  now += 30 * 60_000; // stale, past maxAge: served while the background refresh fails
  await expect(resolve(keys, idp.issuer, idp.key.kid)).resolves.toBeDefined();
  now += 31 * 60_000; // past maxStale: the revoked-or-not key is no longer trusted
  await expect(resolve(keys, idp.issuer, idp.key.kid)).rejects.toBeInstanceOf(
    TemporarilyUnavailable,
  );
  idp.mode = 'ok';
  now += 3_000; // after the failure back-off, a working endpoint is trusted again
  await expect(resolve(keys, idp.issuer, idp.key.kid)).resolves.toBeDefined();
});

test('a malformed key (an EC point off its curve) is dropped, and the good keys still work', async () => {
  const ec = await makeKey('ES256');
  const y = Buffer.from(ec.publicJwk.y as string, 'base64url');
  y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
  const offCurve = { ...ec, publicJwk: { ...ec.publicJwk, y: y.toString('base64url') } };
  idp.published = [idp.key, offCurve];
  const keys = keysFor({ ...idp.trusted(), algorithms: ['RS256', 'ES256'] });
  await expect(resolve(keys, idp.issuer, idp.key.kid)).resolves.toBeDefined();
  await expect(resolve(keys, idp.issuer, offCurve.kid, 'ES256')).rejects.toBeInstanceOf(
    errors.JWKSNoMatchingKey,
  );
});

test('an RSA key with a public exponent past 32 bits is dropped, and the good keys still work', async () => {
  // Each verification with a 2,000-bit exponent costs more than one with a 16,384-bit modulus.
  const big = await largeExponentKey(2000);
  const heavy = {
    ...idp.key,
    kid: 'heavy',
    publicJwk: { ...big.publicJwk, kid: 'heavy', alg: 'RS256' },
  };
  idp.published = [idp.key, heavy];
  const keys = keysFor(idp.trusted());
  await expect(resolve(keys, idp.issuer, idp.key.kid)).resolves.toBeDefined();
  await expect(resolve(keys, idp.issuer, 'heavy')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
});

describe('one key, one algorithm (RFC 8725 §3.1)', () => {
  test('an RSA key without alg is pinned to the only RSA algorithm the issuer is allowed', async () => {
    const { alg: _alg, ...noAlg } = idp.key.publicJwk;
    idp.published = [{ ...idp.key, publicJwk: noAlg }];
    const keys = keysFor({ ...idp.trusted(), algorithms: ['RS256', 'ES256'] });
    await expect(resolve(keys, idp.issuer, idp.key.kid, 'RS256')).resolves.toBeDefined();
    await expect(resolve(keys, idp.issuer, idp.key.kid, 'PS256')).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  test('an RSA key without alg is not used when the issuer may sign RS256 and PS256', async () => {
    const { alg: _alg, ...noAlg } = idp.key.publicJwk;
    idp.published = [{ ...idp.key, publicJwk: noAlg }];
    const keys = keysFor({ ...idp.trusted(), algorithms: ['RS256', 'PS256'] });
    for (const alg of ['RS256', 'PS256']) {
      await expect(resolve(keys, idp.issuer, idp.key.kid, alg)).rejects.toBeInstanceOf(
        errors.JWKSNoMatchingKey,
      );
    }
  });

  test('a published private key is not used', async () => {
    const withPrivate = { ...idp.key, publicJwk: { ...idp.key.publicJwk, d: 'AQAB' } };
    idp.published = [withPrivate];
    const keys = keysFor(idp.trusted());
    await expect(resolve(keys, idp.issuer, idp.key.kid)).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });
});
