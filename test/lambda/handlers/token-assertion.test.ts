/**
 * Validating the ID-JAG (JAG-FORMAT, JAG-ISSUER, JAG-ALGORITHM, JAG-SIGNATURE, JAG-CLAIMS,
 * JAG-AUDIENCE, JAG-TIMES, JAG-CLIENT-ID, JAG-CLIENT-ISSUER): every way an ID-JAG is refused is
 * invalid_grant (400) with a description, and no token.
 */
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportSPKI } from 'jose';
import { tokenEvent } from '../../support/events.js';
import { bodyOf, Harness, ISSUER } from '../../support/harness.js';
import { makeKey } from '../../support/test-idp.js';
import { JWT_BEARER_GRANT } from '../../../lambda/oauth/token-request.js';

let h: Harness;
let client: { clientId: string; clientSecret: string };
beforeAll(async () => {
  h = await Harness.start();
  client = await h.addClient();
});
afterAll(() => h.close());

async function redeem(assertion: string, who = client) {
  return h.token(
    tokenEvent({
      grant_type: JWT_BEARER_GRANT,
      assertion,
      client_id: who.clientId,
      client_secret: who.clientSecret,
    }),
  );
}

async function expectInvalidGrant(assertion: string, description: RegExp, who = client) {
  const res = await redeem(assertion, who);
  expect({ status: res.statusCode, error: bodyOf(res).error }).toEqual({
    status: 400,
    error: 'invalid_grant',
  });
  expect(bodyOf(res).error_description).toMatch(description);
  expect(bodyOf(res)).not.toHaveProperty('access_token');
}

const b64 = (o: unknown) =>
  Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

test('the valid assertion these cases break is accepted', async () => {
  expect((await redeem(await h.mint(client.clientId))).statusCode).toBe(200);
});

describe('1. a compact JWS typed oauth-id-jag+jwt', () => {
  test.each([
    ['one part', 'abc'],
    ['two parts', 'abc.def'],
    ['four parts', 'a.b.c.d'],
    ['five parts (JWE)', 'a.b.c.d.e'],
    ['characters outside base64url', 'ab+c.de/f.ghi'],
    ['empty header', '.eyJhIjoxfQ.sig'],
  ])('%s is refused', async (_name, assertion) => {
    await expectInvalidGrant(assertion, /compact JWS/);
  });

  test('a header that is not JSON is refused', async () => {
    await expectInvalidGrant(
      `${b64('not json')}.${b64({ iss: h.idp.issuer })}.c2ln`,
      /header is not base64url-encoded JSON/,
    );
  });

  test('a header that is a JSON array is refused', async () => {
    await expectInvalidGrant(
      `${b64([1])}.${b64({ iss: h.idp.issuer })}.c2ln`,
      /header is not a JSON object/,
    );
  });

  test('a payload that is not JSON is refused', async () => {
    await expectInvalidGrant(
      `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt' })}.${b64('nope')}.c2ln`,
      /payload is not base64url-encoded JSON/,
    );
  });

  test.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['at+jwt', 'at+jwt'],
    ['id_token style', 'id-jag+jwt'],
    ['a number', 7],
  ])('typ %s is refused', async (_name, typ) => {
    await expectInvalidGrant(
      await h.mint(client.clientId, {}, { typ }),
      /typ must be oauth-id-jag\+jwt/,
    );
  });

  test.each(['OAUTH-ID-JAG+JWT', 'application/oauth-id-jag+jwt', 'Application/OAuth-ID-JAG+JWT'])(
    'typ %s is accepted (case-insensitive, media type form)',
    async (typ) => {
      expect((await redeem(await h.mint(client.clientId, {}, { typ }))).statusCode).toBe(200);
    },
  );
});

describe('2. a trusted issuer that is not us', () => {
  test('a missing iss is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: undefined }),
      /missing the iss claim/,
    );
  });

  test('an untrusted issuer is refused, even with a valid signature', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: 'https://evil.example' }),
      /not trusted/,
    );
  });

  test('an issuer that differs by a trailing slash is not trusted', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: h.idp.issuer + '/' }),
      /not trusted/,
    );
  });

  test('an assertion claiming to be from this server is refused (JAG-ISSUER)', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: ISSUER }),
      /issued by this authorization server/,
    );
  });

  test('iss of the wrong type is refused', async () => {
    await expectInvalidGrant(await h.mint(client.clientId, { iss: 42 }), /missing the iss claim/);
  });
});

describe('3. an allowed algorithm and a signature that verifies', () => {
  test('alg none is refused', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64({ iss: h.idp.issuer, client_id: client.clientId })}.`;
    await expectInvalidGrant(unsigned, /alg "none" is not accepted/);
  });

  test('HS256 keyed with the issuer\u2019s public key (algorithm confusion) is refused', async () => {
    const pem = await exportSPKI(
      createPublicKey({ key: h.idp.key.publicJwk as never, format: 'jwk' }) as never,
    );
    const forged = await new SignJWT({
      iss: h.idp.issuer,
      sub: 'mallory',
      aud: ISSUER,
      client_id: client.clientId,
      jti: 'x',
      iat: h.clock.now(),
      exp: h.clock.now() + 60,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt', kid: h.idp.key.kid })
      .sign(new TextEncoder().encode(pem));
    await expectInvalidGrant(forged, /alg "HS256" is not accepted/);
  });

  test('a missing alg is refused', async () => {
    const token = `${b64({ typ: 'oauth-id-jag+jwt' })}.${b64({ iss: h.idp.issuer })}.c2ln`;
    await expectInvalidGrant(token, /alg null is not accepted/);
  });

  test('an asymmetric algorithm outside the issuer\u2019s allow-list is refused', async () => {
    const es = await makeKey('ES256');
    h.idp.published.push(es);
    try {
      const token = await h.idp.mint(
        { audience: ISSUER, clientId: client.clientId, now: h.clock.now() },
        {},
        {},
        es,
      );
      await expectInvalidGrant(token, /alg "ES256" is not accepted .* \(accepted: RS256\)/);
    } finally {
      h.idp.published.pop();
    }
  });

  test('a tampered payload fails signature verification', async () => {
    const [header, , sig] = (await h.mint(client.clientId)).split('.');
    const payload = b64({
      iss: h.idp.issuer,
      sub: 'mallory',
      aud: ISSUER,
      client_id: client.clientId,
      jti: 'j',
      iat: h.clock.now(),
      exp: h.clock.now() + 60,
    });
    await expectInvalidGrant(`${header}.${payload}.${sig}`, /signature does not verify/);
  });

  test('a signature by an unpublished key under a published kid fails verification', async () => {
    const rogue = await makeKey();
    const token = await h.idp.mint(
      { audience: ISSUER, clientId: client.clientId, now: h.clock.now() },
      {},
      {},
      { ...rogue, kid: h.idp.key.kid },
    );
    await expectInvalidGrant(token, /signature does not verify/);
  });

  test('a key the issuer never published (unknown kid) is refused', async () => {
    const rogue = await makeKey();
    const token = await h.idp.mint(
      { audience: ISSUER, clientId: client.clientId, now: h.clock.now() },
      {},
      {},
      rogue,
    );
    await expectInvalidGrant(token, /no key in the JWKS/);
  });

  test('an unknown critical header is refused', async () => {
    const valid = await h.mint(client.clientId);
    const payload = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const header = {
      alg: 'RS256',
      typ: 'oauth-id-jag+jwt',
      kid: h.idp.key.kid,
      crit: ['urn:example:must-understand'],
      'urn:example:must-understand': 1,
    };
    await expectInvalidGrant(await h.idp.signRaw(header, payload), /cannot be verified/);
  });
});

describe('4. required claims present, of the right type (draft §3.1)', () => {
  test.each(['sub', 'aud', 'client_id', 'jti', 'exp', 'iat'])(
    'a missing %s is refused',
    async (claim) => {
      await expectInvalidGrant(
        await h.mint(client.clientId, { [claim]: undefined }),
        new RegExp(`missing the ${claim} claim`),
      );
    },
  );

  test.each([
    ['sub', 42, /sub claim must be a non-empty string/],
    ['sub', '', /sub claim must be a non-empty string/],
    ['jti', '', /jti claim must be a non-empty string/],
    ['jti', { id: 1 }, /jti claim must be a non-empty string/],
    ['client_id', ['a'], /client_id claim must be a non-empty string/],
    ['exp', '9999999999', /exp claim must be a NumericDate/],
    ['iat', null, /iat claim must be a NumericDate/],
    ['nbf', 'soon', /nbf claim must be a NumericDate/],
    ['scope', ['read'], /scope claim must be a space-separated string/],
    ['resource', 42, /resource claim must be a string or an array of strings/],
    ['resource', [], /resource claim must be a string or an array of strings/],
    ['amr', 'mfa', /amr claim must be an array of strings/],
    ['aud', 42, /aud claim must be a string/],
  ])('%s = %j is refused', async (claim, value, description) => {
    await expectInvalidGrant(await h.mint(client.clientId, { [claim]: value }), description);
  });
});

describe('5. aud is our issuer, exactly', () => {
  test('another audience is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: 'https://other.example' }),
      /aud "https:\/\/other.example" is not this server's issuer/,
    );
  });

  test('an audience with a trailing slash is refused, and the description says so', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: ISSUER + '/' }),
      /differ by a trailing slash/,
    );
  });

  test('an array with our issuer and another is refused (draft §4.4.1)', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: [ISSUER, 'https://other.example'] }),
      /exactly one audience, got 2/,
    );
  });

  test('an empty array is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: [] }),
      /exactly one audience, got 0/,
    );
  });

  test('an array of exactly our issuer is accepted', async () => {
    expect((await redeem(await h.mint(client.clientId, { aud: [ISSUER] }))).statusCode).toBe(200);
  });
});

describe('6. times, within the clock skew (RFC 7523 §3)', () => {
  const at = (offset: number) => h.clock.now() + offset;
  test.each([
    ['exp 61 s ago', { exp: -61, iat: -200 }, /expired at/],
    ['exp exactly skew ago', { exp: -60, iat: -200 }, /expired at/],
    ['nbf 61 s ahead', { nbf: 61 }, /not valid before/],
    ['iat 61 s ahead', { iat: 61, exp: 300 }, /iat .* is in the future/],
    [
      'lifetime 361 s (max 300 + skew 60)',
      { iat: -1, exp: 360 },
      /lifetime 361 s exceeds the 300 s/,
    ],
    ['exp before iat', { iat: 0, exp: -1 }, /expired|not after its iat/],
  ])('%s is refused', async (_name, offsets, description) => {
    const claims = Object.fromEntries(Object.entries(offsets).map(([k, v]) => [k, at(v)]));
    await expectInvalidGrant(await h.mint(client.clientId, claims), description);
  });

  test.each([
    ['exp 59 s ago', { exp: -59, iat: -200 }],
    ['nbf 59 s ahead', { nbf: 59 }],
    ['nbf in the past', { nbf: -10 }],
    ['iat 59 s ahead', { iat: 59, exp: 359 }],
    ['lifetime exactly 360 s', { iat: 0, exp: 360 }],
  ])('%s is accepted', async (_name, offsets) => {
    const claims = Object.fromEntries(Object.entries(offsets).map(([k, v]) => [k, at(v)]));
    expect((await redeem(await h.mint(client.clientId, claims))).statusCode).toBe(200);
  });

  test('the issuer\u2019s max_assertion_lifetime is applied', async () => {
    const strict = await Harness.start({ trusted: { max_assertion_lifetime: 60 } });
    try {
      const c = await strict.addClient();
      const res = await strict.token(
        tokenEvent({
          grant_type: JWT_BEARER_GRANT,
          assertion: await strict.mint(c.clientId),
          client_id: c.clientId,
          client_secret: c.clientSecret,
        }),
      );
      expect(bodyOf(res)).toMatchObject({
        error: 'invalid_grant',
        error_description: expect.stringMatching(/exceeds the 60 s/),
      });
    } finally {
      await strict.close();
    }
  });

  test('CLOCK_SKEW is configurable', async () => {
    const tight = await Harness.start({ env: { CLOCK_SKEW: '0' } });
    try {
      const c = await tight.addClient();
      const assertion = await tight.mint(c.clientId, { nbf: tight.clock.now() + 5 });
      const res = await tight.token(
        tokenEvent({
          grant_type: JWT_BEARER_GRANT,
          assertion,
          client_id: c.clientId,
          client_secret: c.clientSecret,
        }),
      );
      expect(bodyOf(res).error).toBe('invalid_grant');
    } finally {
      await tight.close();
    }
  });
});

describe('7. client_id is the authenticated client (draft §4.4.1)', () => {
  test('an assertion for another client is refused', async () => {
    const other = await h.addClient();
    await expectInvalidGrant(
      await h.mint(other.clientId),
      /client_id .* does not match the authenticated client/,
    );
  });
});

describe('9. the client may redeem assertions from this issuer', () => {
  test('a client limited to other issuers is refused', async () => {
    const limited = await h.addClient({ issuers: ['https://other-idp.example'] });
    await expectInvalidGrant(
      await h.mint(limited.clientId),
      /may not redeem assertions from/,
      limited,
    );
  });

  test('a client limited to this issuer is accepted', async () => {
    const limited = await h.addClient({ issuers: [h.idp.issuer] });
    expect((await redeem(await h.mint(limited.clientId), limited)).statusCode).toBe(200);
  });
});

test('an unverified assertion is checked before its claims: a bad signature hides claim errors', async () => {
  const rogue = await makeKey();
  const token = await h.idp.mint(
    { audience: 'https://wrong.example', clientId: 'wrong', now: h.clock.now() },
    {},
    {},
    { ...rogue, kid: h.idp.key.kid },
  );
  await expectInvalidGrant(token, /signature does not verify/);
});

describe('found by fuzzing and review', () => {
  test.each([null, 0, 7, '', ['k']])(
    'a kid of %j is refused (jose would ignore it and try every key)',
    async (kid) => {
      await expectInvalidGrant(
        await h.mint(client.clientId, {}, { kid }),
        /kid must be a non-empty string/,
      );
    },
  );

  test('an ID-JAG bound to a key (cnf) is refused: no proof of possession here', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { cnf: { jkt: 'abc' } }),
      /bound to a key \(cnf\)/,
    );
  });

  test.each([
    ['5,000 characters long', 'j'.repeat(5000)],
    ['control characters that grow sixfold when escaped', '\u0001'.repeat(500)],
  ])('a jti %s is redeemed once, then refused: never a database error', async (_name, jti) => {
    const jag = await h.mint(client.clientId, { jti });
    expect((await redeem(jag)).statusCode).toBe(200);
    await expectInvalidGrant(jag, /already used/);
  });

  test.each([
    ['sub', 's'.repeat(256)],
    ['acr', 'a'.repeat(256)],
  ])(
    'a %s over 255 characters is refused: it would be copied into the access token',
    async (claim, value) => {
      await expectInvalidGrant(
        await h.mint(client.clientId, { [claim]: value }),
        new RegExp(`${claim} claim is longer than 255`),
      );
    },
  );

  test('an amr of more than 16 values is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { amr: Array.from({ length: 17 }, (_, i) => `m${i}`) }),
      /amr claim is larger/,
    );
  });

  test('a client_id no client could be registered with is refused before lookup, and not logged', async () => {
    const id = 'x'.repeat(15_000);
    const res = await h.token(
      tokenEvent({
        grant_type: JWT_BEARER_GRANT,
        assertion: await h.mint(client.clientId),
        client_id: id,
        client_secret: 's',
      }),
    );
    expect(res.statusCode).toBe(401);
    expect(h.log.text()).not.toContain('x'.repeat(200));
  });

  test('an untrusted value is echoed cut short, not in full', async () => {
    const res = await redeem(await h.mint(client.clientId, {}, { typ: 'x'.repeat(5000) }));
    expect((bodyOf(res).error_description as string).length).toBeLessThan(300);
  });

  test('iss is compared exactly: another case is not trusted', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: h.idp.issuer.toUpperCase() }),
      /not trusted/,
    );
  });

  test('aud is compared exactly: another case is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: ISSUER.toUpperCase() }),
      /is not this server's issuer/,
    );
  });

  test('a client limited to an issuer that is a prefix of this one is refused', async () => {
    const limited = await h.addClient({ issuers: [h.idp.issuer.slice(0, -1)] });
    await expectInvalidGrant(
      await h.mint(limited.clientId),
      /may not redeem assertions from/,
      limited,
    );
  });

  test.each([
    ['auth_time', 'yesterday', /auth_time claim must be a NumericDate/],
    ['acr', 3, /acr claim must be a non-empty string/],
  ])('%s of the wrong type is refused', async (claim, value, description) => {
    await expectInvalidGrant(await h.mint(client.clientId, { [claim]: value }), description);
  });

  test.each([
    ['nbf exactly the skew ahead is accepted', { nbf: 60 }, 200],
    ['iat exactly the skew ahead is accepted', { iat: 60, exp: 360 }, 200],
    ['exp exactly the skew ago is refused', { exp: -60, iat: -200 }, 400],
  ])(
    '%s (exp is exclusive, nbf and iat inclusive: RFC 7519 §4.1.4-5)',
    async (_name, offsets, status) => {
      const claims = Object.fromEntries(
        Object.entries(offsets).map(([k, v]) => [k, h.clock.now() + v]),
      );
      expect((await redeem(await h.mint(client.clientId, claims))).statusCode).toBe(status);
    },
  );
});
