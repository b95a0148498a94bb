/**
 * DPoP-bound tokens at the resources we ship (RFC 9449 §7, §4.3 with `ath`; DPOP-TOKEN): the sample
 * REST resource and the MCP server accept a bound token only with the DPoP scheme and a proof by
 * its key for this request, answer DPoP challenges naming the algorithms, and refuse a bound token
 * presented as Bearer.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createResourceHandler } from '../../../../lambda/example-resources/sample/resource-server.js';
import {
  createMcpResource,
  type McpResource,
} from '../../../../lambda/example-resources/mcp/mcp-resource.js';
import { ProofReplayCache } from '../../../../lambda/example-resources/verifier/proof-replay-cache.js';
import type { HttpHandler } from '../../../../lambda/http/types.js';
import { httpEvent } from '../../../support/events.js';
import { DpopKey } from '../../../support/dpop.js';
import { accessTokenHash } from '../../../../lambda/oauth/dpop.js';
import { largeExponentKey, signRs256 } from '../../oauth/rsa-exponent-keys.js';

const ISSUER = 'https://as.example.test';
const API = 'https://api.example.test/';
const MCP = 'https://mcp.example.test/mcp';
const now = () => Math.floor(Date.now() / 1000);

let signingKey: CryptoKey;
let rest: HttpHandler;
let mcp: McpResource;
let key: DpopKey;
let other: DpopKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  const keys = createLocalJWKSet({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }],
  });
  rest = createResourceHandler({ issuer: ISSUER, resource: API, jwksUri: 'https://x/jwks', keys });
  mcp = createMcpResource({ issuer: ISSUER, resource: MCP, jwksUri: 'https://x/jwks', keys });
  [key, other] = await Promise.all([DpopKey.generate(), DpopKey.generate()]);
});
afterAll(() => mcp.close());

function accessToken(aud: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({
    iss: ISSUER,
    sub: 'alice',
    aud,
    client_id: 'agent',
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 300,
    scope: 'read write',
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(signingKey);
}

const bound = (aud: string) => accessToken(aud, { cnf: { jkt: key.jkt } });

/** GET /api/profile on the sample resource with the given headers. */
const profile = (headers: Record<string, string>) =>
  rest(httpEvent('GET', '/api/profile', { headers }));
const PROFILE_URL = `${API}api/profile`;

/** A proof for the profile route, by `k`, for `token`. */
const proof = (k: DpopKey, token: string, o: Partial<Parameters<DpopKey['proof']>[0]> = {}) =>
  k.proof({ htm: 'GET', htu: PROFILE_URL, iat: now(), accessToken: token, ...o });

describe('the sample resource', () => {
  test('a bound token with the DPoP scheme and a valid proof is accepted', async () => {
    const token = await bound(API);
    const res = await profile({ authorization: `DPoP ${token}`, dpop: await proof(key, token) });
    expect(res.statusCode).toBe(200);
  });

  test('a bound token presented as Bearer is refused, with or without a proof (RFC 9449 §7.2)', async () => {
    const token = await bound(API);
    const attempts: Array<Record<string, string>> = [
      { authorization: `Bearer ${token}` },
      { authorization: `Bearer ${token}`, dpop: await proof(key, token) },
    ];
    for (const headers of attempts) {
      const res = await profile(headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token", /);
      expect(res.headers['www-authenticate']).toMatch(/algs="[^"]*ES256[^"]*"/);
    }
  });

  const refused: Array<[string, (token: string) => Promise<Record<string, string>>]> = [
    ['no proof', async (t) => ({ authorization: `DPoP ${t}` })],
    [
      'a proof by another key',
      async (t) => ({ authorization: `DPoP ${t}`, dpop: await proof(other, t) }),
    ],
    [
      'a proof for another access token (ath)',
      async (t) => ({ authorization: `DPoP ${t}`, dpop: await proof(key, `${t}x`) }),
    ],
    [
      'a proof without ath',
      async (t) => ({
        authorization: `DPoP ${t}`,
        dpop: await proof(key, t, { claims: { ath: undefined } }),
      }),
    ],
    [
      'a proof for another URL',
      async (t) => ({
        authorization: `DPoP ${t}`,
        dpop: await proof(key, t, { htu: `${API}api/notes` }),
      }),
    ],
    [
      'a proof for another method',
      async (t) => ({ authorization: `DPoP ${t}`, dpop: await proof(key, t, { htm: 'POST' }) }),
    ],
    [
      'a stale proof',
      async (t) => ({
        authorization: `DPoP ${t}`,
        dpop: await proof(key, t, { iat: now() - 600 }),
      }),
    ],
    [
      'a proof with a private key in jwk',
      async (t) => ({
        authorization: `DPoP ${t}`,
        dpop: await proof(key, t, { header: { jwk: key.privateJwk } }),
      }),
    ],
    [
      'two proofs',
      async (t) => ({
        authorization: `DPoP ${t}`,
        dpop: `${await proof(key, t)},${await proof(key, t)}`,
      }),
    ],
  ];
  test.each(refused)('%s: 401 invalid_dpop_proof with a DPoP challenge', async (_n, headers) => {
    const res = await profile(await headers(await bound(API)));
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body!)).toMatchObject({ error: 'invalid_dpop_proof' });
    expect(res.headers['www-authenticate']).toMatch(
      new RegExp(
        `^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="[^"]+", resource_metadata="${API}`,
      ),
    );
  });

  test('a replayed proof is refused the second time', async () => {
    const token = await bound(API);
    const headers = { authorization: `DPoP ${token}`, dpop: await proof(key, token) };
    expect((await profile(headers)).statusCode).toBe(200);
    const again = await profile(headers);
    expect(again.statusCode).toBe(401);
    expect(JSON.parse(again.body!)).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  test('an unbound token with the DPoP scheme is refused; as Bearer it works, a stray proof ignored', async () => {
    const token = await accessToken(API);
    const asDpop = await profile({ authorization: `DPoP ${token}`, dpop: await proof(key, token) });
    expect(asDpop.statusCode).toBe(401);
    expect(asDpop.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);
    const asBearer = await profile({
      authorization: `Bearer ${token}`,
      dpop: await proof(key, token),
    });
    expect(asBearer.statusCode).toBe(200);
  });

  test('a bound token whose cnf this resource cannot check is refused', async () => {
    const token = await accessToken(API, { cnf: { 'x5t#S256': 'abc' } });
    expect((await profile({ authorization: `Bearer ${token}` })).statusCode).toBe(401);
  });

  test('the URL a proof must name is the resource\u2019s own, not the Host a caller sends', async () => {
    const token = await bound(API);
    const res = await rest(
      httpEvent('GET', '/api/profile', {
        headers: {
          host: 'evil.example',
          authorization: `DPoP ${token}`,
          dpop: await proof(key, token, { htu: 'https://evil.example/api/profile' }),
        },
      }),
    );
    expect(res.statusCode).toBe(401);
  });
});

describe('the MCP server', () => {
  const initialize = (headers: Record<string, string>) =>
    mcp.fetch(
      new Request(MCP, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        }),
      }),
    );
  const mcpProof = (k: DpopKey, token: string) =>
    k.proof({ htm: 'POST', htu: MCP, iat: now(), accessToken: token });

  test('a bound token with a valid proof reaches the MCP handler', async () => {
    const token = await bound(MCP);
    const res = await initialize({
      authorization: `DPoP ${token}`,
      dpop: await mcpProof(key, token),
    });
    expect(res.status).toBe(200);
  });

  test('a bound token as Bearer, a proof by another key, a replayed proof: 401 with a DPoP challenge', async () => {
    const token = await bound(MCP);
    const asBearer = await initialize({ authorization: `Bearer ${token}` });
    expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
    const otherKey = await initialize({
      authorization: `DPoP ${token}`,
      dpop: await mcpProof(other, token),
    });
    expect(otherKey.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    const headers = { authorization: `DPoP ${token}`, dpop: await mcpProof(key, token) };
    expect((await initialize(headers)).status).toBe(200);
    const replayed = await initialize(headers);
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
  });
});

/** The status and challenge of GET /api/profile with a bound token and a proof. */
async function profileOf(token: string, dpop: string) {
  const res = await profile({ authorization: `DPoP ${token}`, dpop });
  return { status: res.statusCode, challenge: res.headers['www-authenticate'] ?? '' };
}

const mcpProofFor = (k: DpopKey, token: string) =>
  k.proof({ htm: 'POST', htu: MCP, iat: now(), accessToken: token });

/** The status and challenge of an MCP initialize with a bound token and a proof. */
async function initializeStatus(token: string, dpop: string) {
  const res = await mcp.fetch(
    new Request(MCP, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `DPoP ${token}`,
        dpop,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    }),
  );
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '' };
}

describe('a proof key is compared with the token\u2019s cnf.jkt before its signature is verified', () => {
  /** WebCrypto signature verifications (jose's, for the token and the proof) while `run` runs. */
  async function verifications(run: () => Promise<unknown>): Promise<number> {
    const subtle = globalThis.crypto.subtle;
    const original = subtle.verify.bind(subtle);
    let calls = 0;
    Object.defineProperty(subtle, 'verify', {
      configurable: true,
      value: (...args: Parameters<typeof original>) => (calls++, original(...args)),
    });
    try {
      await run();
    } finally {
      delete (subtle as { verify?: unknown }).verify;
    }
    return calls;
  }
  const garbled = (jws: string) => `${jws.slice(0, jws.lastIndexOf('.'))}.${'A'.repeat(86)}`;

  test.each([
    ['the sample resource', () => bound(API), (k: DpopKey, t: string) => proof(k, t), profileOf],
    ['the MCP server', () => bound(MCP), mcpProofFor, initializeStatus],
  ])('%s: a proof by another key costs no signature check', async (_n, mint, sign, send) => {
    const token = await mint();
    const byOther = garbled(await sign(other, token));
    const byOwn = await sign(key, token);
    let refused: { status: number; challenge: string } | undefined;
    const forOther = await verifications(async () => (refused = await send(token, byOther)));
    const forOwn = await verifications(() => send(token, byOwn));
    expect(refused!.status).toBe(401);
    expect(refused!.challenge).toMatch(/not signed with the key the token is bound to/);
    // The token's own signature in both; the proof's only when its key is the bound one.
    expect(forOwn - forOther).toBe(1);
  });

  test('a real proof by the bound key is still refused when the key\u2019s exponent is past 32 bits', async () => {
    const big = await largeExponentKey(2000);
    const token = await accessToken(API, { cnf: { jkt: big.jkt } });
    const res = await profile({
      authorization: `DPoP ${token}`,
      dpop: signRs256(
        { alg: 'RS256', typ: 'dpop+jwt', jwk: big.publicJwk },
        {
          jti: crypto.randomUUID(),
          htm: 'GET',
          htu: PROFILE_URL,
          iat: now(),
          ath: accessTokenHash(token),
        },
        big.privateKey,
      ),
    });
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body!)).toMatchObject({
      error: 'invalid_dpop_proof',
      error_description: expect.stringMatching(/exponent/),
    });
  });
});

describe('the proof replay cache', () => {
  test('a key is claimed once while live, and again once expired', () => {
    const cache = new ProofReplayCache();
    expect(cache.claim('a', 'k', 100, 50)).toBe(true);
    expect(cache.claim('a', 'k', 100, 99)).toBe(false);
    expect(cache.claim('a', 'k', 200, 101)).toBe(true);
  });

  test('a flood cannot push a live proof out: when full of live proofs it refuses new ones', () => {
    const cache = new ProofReplayCache(100, 1_000);
    expect(cache.claim('victim', 'v', 1_000, 0)).toBe(true);
    for (let i = 0; i < 1000; i++) cache.claim(`k${i}`, `attacker${i % 10}`, 1000, 0);
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.claim('victim', 'v', 1_000, 0)).toBe(false); // still remembered: a replay
    expect(cache.claim('new', 'v', 1_000, 0)).toBe(false); // full of live proofs: fail closed
    expect(cache.claim('new', 'v', 2_000, 1_001)).toBe(true); // once they expire, room again
  });

  test("one key's flood fills only its own share", () => {
    const cache = new ProofReplayCache(100, 10);
    for (let i = 0; i < 50; i++) cache.claim(`a${i}`, 'attacker', 1000, 0);
    expect(cache.size).toBe(10);
    expect(cache.claim('b', 'someone-else', 1000, 0)).toBe(true);
  });
});
