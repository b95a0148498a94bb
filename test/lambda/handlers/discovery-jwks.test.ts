/** Discovery (DISC-PATHS, DISC-FIELDS, DISC-NO-ISSUERS) and JWKS (JWKS-KEYS), through the handlers. */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { createDiscoveryHandler } from '../../../lambda/handlers/discovery.js';
import { createJwksHandler } from '../../../lambda/handlers/jwks.js';
import { loadServiceConfig } from '../../../lambda/config.js';
import { httpEvent } from '../../support/events.js';
import { bodyOf, Harness, ISSUER, MemoryLog } from '../../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
});
afterAll(() => h.close());

describe('discovery (RFC 8414)', () => {
  const paths = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];

  test('both well-known paths return 200 JSON, the same cacheable document', async () => {
    const [a, b] = await Promise.all(paths.map((p) => h.discovery(httpEvent('GET', p))));
    for (const res of [a!, b!]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    }
    expect(a!.body).toBe(b!.body);
  });

  test('the document has every field DISC-FIELDS names, and the issuer byte for byte', async () => {
    const doc = bodyOf(await h.discovery(httpEvent('GET', paths[0]!)));
    expect(doc).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      grant_types_supported: [
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'urn:ietf:params:oauth:grant-type:jwt-dpop',
      ],
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'client_secret_basic',
        'private_key_jwt',
      ],
      // AUTH-PRIVATE-KEY-JWT: asymmetric algorithms only.
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
      response_types_supported: [],
      authorization_grant_profiles_supported: ['urn:ietf:params:oauth:grant-profile:id-jag'],
      // DPOP-TOKEN: asymmetric algorithms only, ES256 and RS256 among them.
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
    });
    expect(doc.dpop_signing_alg_values_supported).not.toContain('HS256');
    expect(doc.dpop_signing_alg_values_supported).not.toContain('none');
    expect(doc.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    // CIMD-POLICY: no rule admits a metadata document here, so none is invited.
    expect(doc).not.toHaveProperty('client_id_metadata_document_supported');
  });

  test('client_id_metadata_document_supported is advertised when a rule admits documents', async () => {
    const config = loadServiceConfig({
      ISSUER,
      CLIENT_METADATA_DOCUMENTS: JSON.stringify([
        {
          url_prefix: 'https://agents.example/',
          scopes: ['read'],
          resources: ['https://r.example/'],
        },
      ]),
    });
    const doc = bodyOf(await createDiscoveryHandler(config)(httpEvent('GET', paths[0]!)));
    expect(doc.client_id_metadata_document_supported).toBe(true);
  });

  test('scopes_supported is advertised when configured', async () => {
    const config = loadServiceConfig({ ISSUER, SCOPES_SUPPORTED: 'read write' });
    const doc = bodyOf(await createDiscoveryHandler(config)(httpEvent('GET', paths[1]!)));
    expect(doc.scopes_supported).toEqual(['read', 'write']);
  });

  test('an issuer with a trailing slash never reaches discovery: start-up refuses it', () => {
    expect(() => loadServiceConfig({ ISSUER: 'https://as.example.test/' })).toThrow(
      /must not end with "\/"/,
    );
  });

  test('trusted issuers are never disclosed (DISC-NO-ISSUERS)', async () => {
    const res = await h.discovery(httpEvent('GET', paths[0]!));
    expect(res.body).not.toContain(h.idp.issuer);
    expect(res.body).not.toContain('127.0.0.1');
  });

  test('POST is 405', async () => {
    expect((await h.discovery(httpEvent('POST', paths[0]!))).statusCode).toBe(405);
  });
});

describe('JWKS', () => {
  test('publishes the signing key: kty, n, e, kid (RFC 7638 thumbprint), alg RS256, use sig; nothing private', async () => {
    const res = await h.jwks(httpEvent('GET', '/.well-known/jwks.json'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    const { keys } = bodyOf(res) as { keys: JWK[] };
    expect(keys).toHaveLength(1);
    const key = keys[0]!;
    expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: key.n!, e: key.e! }));
    expect(key.kid).toBe(await h.signer.keyId());
    expect(Buffer.from(key.n!, 'base64url').length).toBe(256); // RSA-2048
  });

  test('keys that cannot be read are a 503, not a 500 or an empty set', async () => {
    const log = new MemoryLog();
    const handler = createJwksHandler({
      keys: { jwks: () => Promise.reject(new Error('KMS down')) },
      corsOrigins: [],
      logger: log,
    });
    const res = await handler(httpEvent('GET', '/.well-known/jwks.json'));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res).error).toBe('temporarily_unavailable');
    expect(res.body).not.toContain('KMS down');
    expect(log.lines.some((l) => l.level === 'error')).toBe(true);
  });
});

describe('CORS for the playground (CORS-ORIGINS)', () => {
  const allowed = ['https://xaa.dev', 'https://app.xaa.dev'];
  const handlers = () => ({
    discovery: h.discovery,
    jwks: h.jwks,
    token: h.token,
  });
  const preflight = (origin: string, method: string) =>
    httpEvent('OPTIONS', '/x', {
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  test.each(
    allowed.flatMap((o) => (['discovery', 'jwks', 'token'] as const).map((n) => [o, n] as const)),
  )('a preflight from %s to %s is granted', async (origin, name) => {
    const res = await handlers()[name](preflight(origin, name === 'token' ? 'POST' : 'GET'));
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-allow-methods']).toContain(
      name === 'token' ? 'POST' : 'GET',
    );
    expect(res.headers['access-control-allow-headers']).toMatch(/authorization/);
    expect(res.headers['access-control-allow-headers']).toMatch(/content-type/);
    expect(res.headers.vary).toBe('Origin');
  });

  test.each(['https://evil.example', 'https://xaa.dev.evil.example', 'http://xaa.dev', 'null'])(
    'a preflight from %s is refused without CORS grants',
    async (origin) => {
      for (const handler of Object.values(handlers())) {
        const res = await handler(preflight(origin, 'POST'));
        expect(res.statusCode).toBe(403);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      }
    },
  );

  test('actual responses carry the grant for an allowed origin only', async () => {
    const ok = await h.discovery(
      httpEvent('GET', '/.well-known/openid-configuration', {
        headers: { origin: 'https://app.xaa.dev' },
      }),
    );
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.xaa.dev');
    const refused = await h.discovery(
      httpEvent('GET', '/.well-known/openid-configuration', {
        headers: { origin: 'https://evil.example' },
      }),
    );
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers.vary).toBe('Origin');
  });

  test('token errors carry the grant too, so the playground can read them', async () => {
    const res = await h.token(
      httpEvent('POST', '/token', {
        headers: { origin: 'https://xaa.dev', 'content-type': 'text/plain' },
        body: 'x',
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.headers['access-control-allow-origin']).toBe('https://xaa.dev');
  });

  test('CORS_ORIGINS replaces the default list', async () => {
    const config = loadServiceConfig({ ISSUER, CORS_ORIGINS: 'https://playground.example' });
    const handler = createDiscoveryHandler(config);
    expect((await handler(preflight('https://playground.example', 'GET'))).statusCode).toBe(204);
    expect((await handler(preflight('https://xaa.dev', 'GET'))).statusCode).toBe(403);
  });
});
