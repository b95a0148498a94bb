/**
 * Proof of possession at the token endpoint, through the handler (RFC 9449 §4.3, §5, §6.1, §8; the
 * draft's §8.6.1.2): DPOP-PROOF, DPOP-INVALID, DPOP-CNF-JKT, DPOP-CNF-OTHER, DPOP-BIND,
 * DPOP-REQUIRED, DPOP-TOKEN, DPOP-NONCE, DPOP-GRANT.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { tokenEvent } from '../../support/events.js';
import { bodyOf, Harness, ISSUER, RESOURCE, refusalOf } from '../../support/harness.js';
import { claimsOf, DpopKey } from '../../support/dpop.js';
import {
  b64url,
  expectRefused,
  redeemForm,
  type TestClient,
} from '../../support/token-requests.js';
import type { ReasonCode } from '../../../lambda/oauth/errors.js';
import { JWT_DPOP_GRANT } from '../../../lambda/oauth/grant-types.js';
import type { HttpResult } from '../../../lambda/http/types.js';
import { largeExponentKey, signRs256 } from '../oauth/rsa-exponent-keys.js';

const TOKEN_ENDPOINT = `${ISSUER}/token`;

let h: Harness;
let key: DpopKey;
let other: DpopKey;
beforeAll(async () => {
  h = await Harness.start();
  [key, other] = await Promise.all([DpopKey.generate('ES256'), DpopKey.generate('ES256')]);
});
afterAll(() => h.close());

function redeem(
  harness: Harness,
  c: TestClient,
  assertion: string,
  dpop?: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return harness.token(
    tokenEvent(redeemForm(c, assertion), { ...(dpop !== undefined && { dpop }), ...headers }),
  );
}

/** A proof for the token endpoint, now by the harness clock. */
const proofBy = (k: DpopKey, o: Partial<Parameters<DpopKey['proof']>[0]> = {}) =>
  k.proof({ htu: TOKEN_ENDPOINT, iat: h.clock.now(), ...o });

function expectRefusal(res: HttpResult, error: string, reason: ReasonCode): void {
  expect(refusalOf(res)).toEqual({ error, reason });
  expectRefused(res, 400, reason);
  expect(bodyOf(res)).toEqual({ error, error_description: expect.any(String) });
}

describe('DPOP-BIND, DPOP-TOKEN: a valid proof binds the token to its key', () => {
  test('an ID-JAG without cnf and a valid ES256 proof: token_type DPoP, cnf.jkt the proof key', async () => {
    const c = await h.addClient();
    const res = await redeem(h, c, await h.mint(c.clientId), await proofBy(key));
    expect(res.statusCode).toBe(200);
    const body = bodyOf(res);
    expect(body.token_type).toBe('DPoP');
    expect(claimsOf(body.access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  test('RS256 proofs are accepted as well (ES256 and RS256 at least)', async () => {
    const rsa = await DpopKey.generate('RS256');
    const c = await h.addClient();
    const res = await redeem(h, c, await h.mint(c.clientId), await proofBy(rsa));
    expect(res.statusCode).toBe(200);
    expect(claimsOf(bodyOf(res).access_token as string).cnf).toEqual({ jkt: rsa.jkt });
  });

  test('without a proof and without cnf, the token is a Bearer token with no cnf', async () => {
    const c = await h.addClient();
    const res = await redeem(h, c, await h.mint(c.clientId));
    expect(bodyOf(res).token_type).toBe('Bearer');
    expect(claimsOf(bodyOf(res).access_token as string).cnf).toBeUndefined();
  });

  test('an htu with a query or fragment names the same endpoint (RFC 9449 §4.3 check 9)', async () => {
    const c = await h.addClient();
    const proof = await proofBy(key, { htu: `${TOKEN_ENDPOINT}?x=1#f` });
    expect((await redeem(h, c, await h.mint(c.clientId), proof)).statusCode).toBe(200);
  });
});

describe('DPOP-CNF-JKT: a bound ID-JAG needs a proof by its key', () => {
  test('a proof by the cnf.jkt key: a DPoP token bound to that key', async () => {
    const c = await h.addClient();
    const res = await redeem(
      h,
      c,
      await h.mint(c.clientId, { cnf: { jkt: key.jkt } }),
      await proofBy(key),
    );
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res).token_type).toBe('DPoP');
    expect(claimsOf(bodyOf(res).access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  test('no proof: invalid_grant, and the assertion is not spent', async () => {
    const c = await h.addClient();
    const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
    expectRefusal(await redeem(h, c, jag), 'invalid_grant', 'dpop_proof_missing');
    expect((await redeem(h, c, jag, await proofBy(key))).statusCode).toBe(200);
  });

  test('a proof by another key: invalid_grant, and the assertion is not spent', async () => {
    const c = await h.addClient();
    const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
    expectRefusal(
      await redeem(h, c, jag, await proofBy(other)),
      'invalid_grant',
      'dpop_key_mismatch',
    );
    expect((await redeem(h, c, jag, await proofBy(key))).statusCode).toBe(200);
  });
});

describe('DPOP-CNF-OTHER: a binding this server cannot check is refused', () => {
  const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2';
  test.each<[string, () => unknown, ReasonCode]>([
    ['x5t#S256', () => ({ 'x5t#S256': X5T }), 'cnf_unsupported'],
    ['jkt beside x5t#S256', () => ({ jkt: key.jkt, 'x5t#S256': X5T }), 'cnf_unsupported'],
    ['a jwk', () => ({ jwk: key.publicJwk }), 'cnf_unsupported'],
    ['an empty cnf', () => ({}), 'cnf_unsupported'],
    ['a jkt that is no thumbprint', () => ({ jkt: 'abc' }), 'cnf_invalid'],
    ['a cnf that is a string', () => key.jkt, 'cnf_invalid'],
  ])(
    '%s: invalid_grant, with or without a proof, never a bearer token',
    async (_n, cnf, reason) => {
      const c = await h.addClient();
      const jag = await h.mint(c.clientId, { cnf: cnf() });
      expectRefusal(await redeem(h, c, jag, await proofBy(key)), 'invalid_grant', reason);
      expectRefusal(await redeem(h, c, jag), 'invalid_grant', reason);
    },
  );
});

describe('DPOP-REQUIRED: bound tokens can be required', () => {
  test('per client: no proof is invalid_grant; a proof gets a bound token', async () => {
    const c = await h.addClient({ dpopBoundRequired: true });
    const jag = await h.mint(c.clientId);
    expectRefusal(await redeem(h, c, jag), 'invalid_grant', 'dpop_required_by_client');
    const res = await redeem(h, c, jag, await proofBy(key));
    expect(bodyOf(res).token_type).toBe('DPoP');
  });

  test('per resource: no proof for that resource is invalid_grant; other resources are not', async () => {
    const strict = await Harness.start({ env: { DPOP_REQUIRED_RESOURCES: RESOURCE } });
    try {
      const free = 'https://free.example.com/';
      const c = await strict.addClient({ resources: [RESOURCE, free] });
      const jag = await strict.mint(c.clientId, { resource: RESOURCE });
      expectRefusal(await redeem(strict, c, jag), 'invalid_grant', 'dpop_required_by_resource');
      const other = await redeem(strict, c, await strict.mint(c.clientId, { resource: free }));
      expect(bodyOf(other).token_type).toBe('Bearer');
      const proof = await key.proof({ htu: TOKEN_ENDPOINT, iat: strict.clock.now() });
      expect(bodyOf(await redeem(strict, c, jag, proof)).token_type).toBe('DPoP');
    } finally {
      await strict.close();
    }
  });
});

describe('DPOP-PROOF, DPOP-INVALID: an invalid proof is invalid_dpop_proof', () => {
  test('a replayed proof is refused, and does not spend the second assertion', async () => {
    const c = await h.addClient();
    const proof = await proofBy(key);
    expect((await redeem(h, c, await h.mint(c.clientId), proof)).statusCode).toBe(200);
    const jag = await h.mint(c.clientId);
    expectRefusal(await redeem(h, c, jag, proof), 'invalid_dpop_proof', 'dpop_jti_replayed');
    expect((await redeem(h, c, jag, await proofBy(key))).statusCode).toBe(200);
  });

  test('20 concurrent requests with one proof: at most one token', async () => {
    const c = await h.addClient();
    const proof = await proofBy(key);
    const jags = await Promise.all(Array.from({ length: 20 }, () => h.mint(c.clientId)));
    const results = await Promise.all(jags.map((jag) => redeem(h, c, jag, proof)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.statusCode !== 200))
      expect(refusalOf(r)).toEqual({ error: 'invalid_dpop_proof', reason: 'dpop_jti_replayed' });
  });

  const cases: Array<[string, () => Promise<string>, ReasonCode]> = [
    [
      'a proof for another URL',
      () => proofBy(key, { htu: 'https://other.example/token' }),
      'dpop_htu_mismatch',
    ],
    [
      'a proof for another path',
      () => proofBy(key, { htu: `${ISSUER}/authorize` }),
      'dpop_htu_mismatch',
    ],
    [
      'a proof with user information in htu',
      () => proofBy(key, { htu: `https://u@as.example.test/token` }),
      'dpop_htu_mismatch',
    ],
    ['a proof for GET', () => proofBy(key, { htm: 'GET' }), 'dpop_htm_mismatch'],
    [
      'a stale proof (iat 2 minutes and the skew ago)',
      () => proofBy(key, { iat: h.clock.now() - 121 - 60 }),
      'dpop_iat_invalid',
    ],
    [
      'a proof from the future',
      () => proofBy(key, { iat: h.clock.now() + 61 }),
      'dpop_iat_invalid',
    ],
    [
      'a proof without iat',
      () => proofBy(key, { claims: { iat: undefined } }),
      'dpop_claim_invalid',
    ],
    [
      'a proof whose iat is a string',
      () => proofBy(key, { claims: { iat: String(h.clock.now()) } }),
      'dpop_iat_not_numeric',
    ],
    [
      'a proof whose iat is an object',
      () => proofBy(key, { claims: { iat: { n: h.clock.now() } } }),
      'dpop_iat_not_numeric',
    ],
    [
      'a real proof by an RSA key with a 2,000-bit exponent',
      async () => {
        const big = await largeExponentKey(2000);
        return signRs256(
          { alg: 'RS256', typ: 'dpop+jwt', jwk: big.publicJwk },
          { jti: randomUUID(), htm: 'POST', htu: TOKEN_ENDPOINT, iat: h.clock.now() },
          big.privateKey,
        );
      },
      'dpop_jwk_invalid',
    ],
    [
      'a proof without jti',
      () => proofBy(key, { claims: { jti: undefined } }),
      'dpop_claim_invalid',
    ],
    [
      'a proof with a private key in jwk',
      () => proofBy(key, { header: { jwk: key.privateJwk } }),
      'dpop_jwk_invalid',
    ],
    ['a proof without jwk', () => proofBy(key, { header: { jwk: undefined } }), 'dpop_jwk_invalid'],
    ['a proof typed JWT', () => proofBy(key, { header: { typ: 'JWT' } }), 'dpop_typ_invalid'],
    [
      'a proof by another key than its jwk',
      () => proofBy(key, { signWith: other.privateKey }),
      'dpop_signature_invalid',
    ],
    [
      'an HS256 proof',
      () =>
        new SignJWT({ jti: 'j', htm: 'POST', htu: TOKEN_ENDPOINT, iat: h.clock.now() })
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
          .sign(randomBytes(32)),
      'dpop_alg_not_allowed',
    ],
    [
      'an unsigned proof (alg none)',
      async () =>
        `${b64url({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64url({ jti: 'j', htm: 'POST', htu: TOKEN_ENDPOINT, iat: h.clock.now() })}.`,
      'dpop_proof_malformed',
    ],
    [
      'a proof whose jwk does not fit its alg',
      () => proofBy(key, { header: { jwk: { ...key.publicJwk, crv: 'P-384' } } }),
      'dpop_jwk_invalid',
    ],
    ['not a JWS at all', async () => 'not-a-proof', 'dpop_proof_malformed'],
    [
      'two proofs (two DPoP headers, as the edge joins them)',
      async () => `${await proofBy(key)}, ${await proofBy(key)}`,
      'dpop_header_repeated',
    ],
  ];

  test.each(cases)(
    '%s: invalid_dpop_proof, and the assertion is not spent',
    async (_n, make, reason) => {
      const c = await h.addClient();
      const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
      expectRefusal(await redeem(h, c, jag, await make()), 'invalid_dpop_proof', reason);
      expect((await redeem(h, c, jag, await proofBy(key))).statusCode).toBe(200);
    },
  );

  test('an invalid proof is refused even where no binding is needed (no downgrade to Bearer)', async () => {
    const c = await h.addClient();
    const res = await redeem(h, c, await h.mint(c.clientId), await proofBy(key, { htm: 'GET' }));
    expectRefusal(res, 'invalid_dpop_proof', 'dpop_htm_mismatch');
  });

  test('an unauthenticated request is refused as such before its proof is looked at', async () => {
    const c = await h.addClient();
    const res = await redeem(
      h,
      { ...c, clientSecret: 'wrong-secret-123' },
      await h.mint(c.clientId),
      'garbage',
    );
    expect(res.statusCode).toBe(401);
  });
});

describe('DPOP-NONCE: a server nonce, when configured', () => {
  const nonceKey = randomBytes(32).toString('base64url');
  let n: Harness;
  beforeAll(async () => {
    n = await Harness.start({ env: { DPOP_NONCE: 'required', DPOP_NONCE_KEY: nonceKey } });
  });
  afterAll(() => n.close());
  const proof = (o: { nonce?: string; iat?: number } = {}) =>
    key.proof({ htu: TOKEN_ENDPOINT, iat: o.iat ?? n.clock.now(), nonce: o.nonce });

  test('the round trip: use_dpop_nonce with DPoP-Nonce, then the retry with it gets a token', async () => {
    const c = await n.addClient();
    const jag = await n.mint(c.clientId, { cnf: { jkt: key.jkt } });
    const first = await redeem(n, c, jag, await proof());
    expectRefusal(first, 'use_dpop_nonce', 'dpop_nonce_required');
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toEqual(expect.any(String));
    const second = await redeem(n, c, jag, await proof({ nonce }));
    expect(second.statusCode).toBe(200);
    expect(bodyOf(second).token_type).toBe('DPoP');
    // RFC 9449 §8.2: a fresh nonce may ride on any answer.
    expect(second.headers['dpop-nonce']).toEqual(expect.any(String));
  });

  test('a nonce this server did not make, or one from two slots ago, gets a fresh one', async () => {
    const c = await n.addClient();
    const slot = Math.floor(n.clock.now() / 300);
    const forged = await redeem(
      n,
      c,
      await n.mint(c.clientId),
      await proof({ nonce: `${slot}.forged` }),
    );
    expectRefusal(forged, 'use_dpop_nonce', 'dpop_nonce_invalid');
    const nonce = forged.headers['dpop-nonce']!;
    n.clock.t += 600;
    try {
      const jag = await n.mint(c.clientId);
      const late = await redeem(n, c, jag, await proof({ nonce }));
      expectRefusal(late, 'use_dpop_nonce', 'dpop_nonce_invalid');
      expect(late.headers['dpop-nonce']).not.toBe(nonce);
      const ok = await redeem(n, c, jag, await proof({ nonce: late.headers['dpop-nonce'] }));
      expect(ok.statusCode).toBe(200);
    } finally {
      n.clock.t -= 600;
    }
  });

  test('a nonce made with another key is not accepted', async () => {
    const c = await n.addClient();
    const elsewhere = await Harness.start({
      env: { DPOP_NONCE: 'required', DPOP_NONCE_KEY: randomBytes(32).toString('base64url') },
    });
    try {
      const theirs = (await redeem(elsewhere, c, 'x', await proof())).headers['dpop-nonce'];
      const res = await redeem(n, c, await n.mint(c.clientId), await proof({ nonce: theirs }));
      expectRefusal(res, 'use_dpop_nonce', 'dpop_nonce_invalid');
    } finally {
      await elsewhere.close();
    }
  });

  test("two instances with the same key accept each other's nonces (every container)", async () => {
    const twin = await Harness.start({ env: { DPOP_NONCE: 'required', DPOP_NONCE_KEY: nonceKey } });
    try {
      twin.clock.t = n.clock.t;
      const c = await n.addClient();
      const nonce = (await redeem(twin, c, 'x', await proof())).headers['dpop-nonce'];
      const res = await redeem(n, c, await n.mint(c.clientId), await proof({ nonce }));
      expect(res.statusCode).toBe(200);
    } finally {
      await twin.close();
    }
  });

  test('a request without a proof needs no nonce, and still hears the current one', async () => {
    const c = await n.addClient();
    const res = await redeem(n, c, await n.mint(c.clientId));
    expect(bodyOf(res).token_type).toBe('Bearer');
    expect(res.headers['dpop-nonce']).toEqual(expect.any(String));
  });

  test('without the setting no nonce is asked for or sent', async () => {
    const c = await h.addClient();
    const res = await redeem(h, c, await h.mint(c.clientId), await proofBy(key));
    expect(res.statusCode).toBe(200);
    expect(res.headers['dpop-nonce']).toBeUndefined();
  });

  test('CORS: a browser may send DPoP and read DPoP-Nonce (CORS-ORIGINS)', async () => {
    const origin = 'https://app.xaa.dev';
    const preflight = await n.token({
      ...tokenEvent('', { origin, 'access-control-request-method': 'POST' }),
      requestContext: {
        ...tokenEvent('').requestContext,
        http: { ...tokenEvent('').requestContext.http, method: 'OPTIONS' },
      },
    });
    expect(preflight.headers['access-control-allow-headers']).toMatch(/\bdpop\b/i);
    const c = await n.addClient();
    const res = await redeem(n, c, await n.mint(c.clientId), await proof(), { origin });
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-expose-headers']).toMatch(/\bdpop-nonce\b/i);
  });
});

test('DPOP-PROOF: the proof is claimed before the assertion, both while the token is signed', async () => {
  const events: string[] = [];
  let releaseProof!: () => void;
  const proofHeld = new Promise<void>((r) => (releaseProof = r));
  const slow = await Harness.start({
    replay: (r) => ({
      claim: async (iss, jti, exp) => {
        events.push(`claim ${iss.startsWith('dpop:') ? 'proof' : 'assertion'}`);
        if (iss.startsWith('dpop:')) await proofHeld;
        return r.claim(iss, jti, exp);
      },
      release: (iss, jti) => r.release(iss, jti),
    }),
    signer: (s) => ({
      keyId: () => s.keyId(),
      sign: (input) => {
        events.push('sign');
        return s.sign(input);
      },
    }),
  });
  try {
    const c = await slow.addClient();
    const pending = redeem(
      slow,
      c,
      await slow.mint(c.clientId),
      await key.proof({ htu: TOKEN_ENDPOINT, iat: slow.clock.now() }),
    );
    // Until both have started (the first request also fetches the IdP's JWKS); then a moment more,
    // in which the assertion's claim must not start.
    for (let i = 0; i < 500 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    // The signature did not wait for the proof's write, and the assertion is not claimed yet.
    expect([...events].sort()).toEqual(['claim proof', 'sign']);
    releaseProof();
    expect((await pending).statusCode).toBe(200);
    expect(events).toHaveLength(3);
    expect(events[2]).toBe('claim assertion');
  } finally {
    await slow.close();
  }
});

describe('DPOP-GRANT: the jwt-dpop grant, for a key-bound ID-JAG with its proof', () => {
  const redeemDpopGrant = (c: TestClient, assertion: string, dpop?: string) =>
    h.token(
      tokenEvent(redeemForm(c, assertion, { grant_type: JWT_DPOP_GRANT }), {
        ...(dpop !== undefined && { dpop }),
      }),
    );

  test('a cnf.jkt ID-JAG and a proof by that key: a DPoP-bound token', async () => {
    const c = await h.addClient();
    const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
    const res = await redeemDpopGrant(c, jag, await proofBy(key));
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res).token_type).toBe('DPoP');
    expect(claimsOf(bodyOf(res).access_token as string).cnf).toEqual({ jkt: key.jkt });
  });

  test('no proof: invalid_grant', async () => {
    const c = await h.addClient();
    const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
    expectRefusal(await redeemDpopGrant(c, jag), 'invalid_grant', 'dpop_proof_missing');
  });

  test('an ID-JAG bound to no key, even with a valid proof: invalid_grant', async () => {
    const c = await h.addClient();
    const res = await redeemDpopGrant(c, await h.mint(c.clientId), await proofBy(key));
    expectRefusal(res, 'invalid_grant', 'dpop_grant_unbound');
    expect(bodyOf(res).error_description).toMatch(
      /use urn:ietf:params:oauth:grant-type:jwt-bearer/,
    );
  });

  test('a proof by another key: invalid_grant', async () => {
    const c = await h.addClient();
    const jag = await h.mint(c.clientId, { cnf: { jkt: key.jkt } });
    expectRefusal(
      await redeemDpopGrant(c, jag, await proofBy(other)),
      'invalid_grant',
      'dpop_key_mismatch',
    );
  });
});
