/**
 * Validating the ID-JAG (JAG-FORMAT, JAG-ISSUER, JAG-ALGORITHM, JAG-SIGNATURE, JAG-CLAIMS,
 * JAG-AUDIENCE, JAG-TIMES, JAG-CLIENT-ID, JAG-CLIENT-ISSUER): every way an ID-JAG is refused is
 * invalid_grant (400), no token, and a reason code that says which check failed.
 */
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportSPKI } from 'jose';
import { tokenEvent } from '../../support/events.js';
import { bodyOf, Harness, ISSUER, refusalOf } from '../../support/harness.js';
import {
  b64url,
  expectRefused,
  redeemForm,
  type TestClient,
} from '../../support/token-requests.js';
import { makeKey, TestIdp } from '../../support/test-idp.js';
import type { ReasonFor } from '../../../lambda/oauth/errors.js';

let h: Harness;
let client: TestClient;
beforeAll(async () => {
  h = await Harness.start();
  client = await h.addClient();
});
afterAll(() => h.close());

async function redeem(assertion: string, who = client) {
  return h.token(tokenEvent(redeemForm(who, assertion)));
}

/** Refused as invalid_grant for `reason`; returns the body, for the tests that read its description. */
async function expectInvalidGrant(
  assertion: string,
  reason: ReasonFor<'invalid_grant'>,
  who = client,
): Promise<Record<string, unknown>> {
  return expectRefused(await redeem(assertion, who), 400, reason);
}

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
    await expectInvalidGrant(assertion, 'jws_malformed');
  });

  test('a header that is not JSON is refused', async () => {
    await expectInvalidGrant(
      `${b64url('not json')}.${b64url({ iss: h.idp.issuer })}.c2ln`,
      'header_malformed',
    );
  });

  test('a header that is a JSON array is refused', async () => {
    await expectInvalidGrant(
      `${b64url([1])}.${b64url({ iss: h.idp.issuer })}.c2ln`,
      'header_malformed',
    );
  });

  test('a payload that is not JSON is refused', async () => {
    await expectInvalidGrant(
      `${b64url({ alg: 'RS256', typ: 'oauth-id-jag+jwt' })}.${b64url('nope')}.c2ln`,
      'payload_malformed',
    );
  });

  test.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['at+jwt', 'at+jwt'],
    ['id_token style', 'id-jag+jwt'],
    ['a number', 7],
  ])('typ %s is refused', async (_name, typ) => {
    await expectInvalidGrant(await h.mint(client.clientId, {}, { typ }), 'typ_invalid');
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
    await expectInvalidGrant(await h.mint(client.clientId, { iss: undefined }), 'issuer_missing');
  });

  test('an untrusted issuer is refused, even with a valid signature', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: 'https://evil.example' }),
      'issuer_untrusted',
    );
  });

  test('an issuer that differs by a trailing slash is not trusted', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: h.idp.issuer + '/' }),
      'issuer_untrusted',
    );
  });

  test('an assertion claiming to be from this server is refused (JAG-ISSUER)', async () => {
    await expectInvalidGrant(await h.mint(client.clientId, { iss: ISSUER }), 'issuer_is_self');
  });

  test('iss of the wrong type is refused', async () => {
    await expectInvalidGrant(await h.mint(client.clientId, { iss: 42 }), 'issuer_missing');
  });
});

describe('3. an allowed algorithm and a signature that verifies', () => {
  test('alg none is refused', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64url({ iss: h.idp.issuer, client_id: client.clientId })}.`;
    await expectInvalidGrant(unsigned, 'algorithm_not_allowed');
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
    await expectInvalidGrant(forged, 'algorithm_not_allowed');
  });

  test('a missing alg is refused', async () => {
    const token = `${b64url({ typ: 'oauth-id-jag+jwt' })}.${b64url({ iss: h.idp.issuer })}.c2ln`;
    await expectInvalidGrant(token, 'algorithm_not_allowed');
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
      const body = await expectInvalidGrant(token, 'algorithm_not_allowed');
      // The description helps: it names the algorithm and what the issuer may use instead.
      expect(body.error_description).toMatch(/alg "ES256" is not accepted .* \(accepted: RS256\)/);
    } finally {
      h.idp.published.pop();
    }
  });

  test('a tampered payload fails signature verification', async () => {
    const [header, , sig] = (await h.mint(client.clientId)).split('.');
    const payload = b64url({
      iss: h.idp.issuer,
      sub: 'mallory',
      aud: ISSUER,
      client_id: client.clientId,
      jti: 'j',
      iat: h.clock.now(),
      exp: h.clock.now() + 60,
    });
    await expectInvalidGrant(`${header}.${payload}.${sig}`, 'signature_invalid');
  });

  test('a signature by an unpublished key under a published kid fails verification', async () => {
    const rogue = await makeKey();
    const token = await h.idp.mint(
      { audience: ISSUER, clientId: client.clientId, now: h.clock.now() },
      {},
      {},
      { ...rogue, kid: h.idp.key.kid },
    );
    const body = await expectInvalidGrant(token, 'signature_invalid');
    // A signature that does not verify is said as it is; other refusals say why it cannot be.
    expect(body.error_description).toBe('assertion signature does not verify');
  });

  test('a key the issuer never published (unknown kid) is refused', async () => {
    const rogue = await makeKey();
    const token = await h.idp.mint(
      { audience: ISSUER, clientId: client.clientId, now: h.clock.now() },
      {},
      {},
      rogue,
    );
    await expectInvalidGrant(token, 'key_not_found');
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
    const body = await expectInvalidGrant(
      await h.idp.signRaw(header, payload),
      'signature_invalid',
    );
    expect(body.error_description).toBe(
      'assertion cannot be verified: the assertion has critical header parameters this server does not understand',
    );
  });
});

describe('4. required claims present, of the right type (draft §3.1)', () => {
  test.each(['sub', 'aud', 'client_id', 'jti', 'exp', 'iat'])(
    'a missing %s is refused',
    async (claim) => {
      await expectInvalidGrant(
        await h.mint(client.clientId, { [claim]: undefined }),
        'claim_missing',
      );
    },
  );

  test.each<[string, unknown, ReasonFor<'invalid_grant'>]>([
    ['sub', 42, 'claim_invalid'],
    ['sub', '', 'claim_invalid'],
    ['jti', '', 'claim_invalid'],
    ['jti', { id: 1 }, 'claim_invalid'],
    ['client_id', ['a'], 'claim_invalid'],
    ['exp', '9999999999', 'claim_invalid'],
    ['iat', null, 'claim_invalid'],
    ['nbf', 'soon', 'claim_invalid'],
    ['scope', ['read'], 'claim_invalid'],
    ['resource', 42, 'claim_invalid'],
    ['resource', [], 'claim_invalid'],
    ['amr', 'mfa', 'claim_invalid'],
    ['aud', 42, 'audience_invalid'],
  ])('%s = %j is refused', async (claim, value, reason) => {
    const body = await expectInvalidGrant(
      await h.mint(client.clientId, { [claim]: value }),
      reason,
    );
    // The description names the claim at fault.
    expect(body.error_description).toContain(`${claim} claim`);
  });
});

describe('5. aud is our issuer, exactly', () => {
  test('another audience is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: 'https://other.example' }),
      'audience_mismatch',
    );
  });

  test('an audience with a trailing slash is refused, and the description says so', async () => {
    const body = await expectInvalidGrant(
      await h.mint(client.clientId, { aud: ISSUER + '/' }),
      'audience_mismatch',
    );
    expect(body.error_description).toMatch(/differ by a trailing slash/);
  });

  test('an array with our issuer and another is refused (draft §4.4.1)', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: [ISSUER, 'https://other.example'] }),
      'audience_invalid',
    );
  });

  test('an empty array is refused', async () => {
    await expectInvalidGrant(await h.mint(client.clientId, { aud: [] }), 'audience_invalid');
  });

  test('an array of exactly our issuer is accepted', async () => {
    expect((await redeem(await h.mint(client.clientId, { aud: [ISSUER] }))).statusCode).toBe(200);
  });
});

describe('6. times, within the clock skew (RFC 7523 §3)', () => {
  const at = (offset: number) => h.clock.now() + offset;
  test.each<[string, Record<string, number>, ReasonFor<'invalid_grant'>]>([
    ['exp 61 s ago', { exp: -61, iat: -200 }, 'assertion_expired'],
    ['exp exactly skew ago', { exp: -60, iat: -200 }, 'assertion_expired'],
    ['nbf 61 s ahead', { nbf: 61 }, 'assertion_not_yet_valid'],
    ['iat 61 s ahead', { iat: 61, exp: 300 }, 'iat_in_future'],
    ['lifetime 361 s (max 300 + skew 60)', { iat: -1, exp: 360 }, 'lifetime_too_long'],
    ['exp before iat', { iat: 0, exp: -1 }, 'lifetime_invalid'],
  ])('%s is refused', async (_name, offsets, reason) => {
    const claims = Object.fromEntries(Object.entries(offsets).map(([k, v]) => [k, at(v)]));
    await expectInvalidGrant(await h.mint(client.clientId, claims), reason);
  });

  test('an expired assertion is told when it expired, in server time', async () => {
    const body = await expectInvalidGrant(
      await h.mint(client.clientId, { exp: at(-61), iat: at(-200) }),
      'assertion_expired',
    );
    expect(body.error_description).toMatch(/expired at .* \(server time .*\)/);
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
      const res = await strict.token(tokenEvent(redeemForm(c, await strict.mint(c.clientId))));
      expect(refusalOf(res)).toEqual({ error: 'invalid_grant', reason: 'lifetime_too_long' });
      expect(bodyOf(res).error_description).toMatch(/exceeds the 60 s/);
    } finally {
      await strict.close();
    }
  });

  test('CLOCK_SKEW is configurable', async () => {
    const tight = await Harness.start({ env: { CLOCK_SKEW: '0' } });
    try {
      const c = await tight.addClient();
      const assertion = await tight.mint(c.clientId, { nbf: tight.clock.now() + 5 });
      const res = await tight.token(tokenEvent(redeemForm(c, assertion)));
      expect(refusalOf(res)).toEqual({ error: 'invalid_grant', reason: 'assertion_not_yet_valid' });
    } finally {
      await tight.close();
    }
  });
});

describe('JAG-TENANT: an issuer trusted for one tenant', () => {
  let pinned: Harness;
  beforeAll(async () => {
    pinned = await Harness.start({ trusted: { tenant: 'acme' } });
  });
  afterAll(() => pinned.close());

  const redeemPinned = async (claims: Record<string, unknown>) => {
    const c = await pinned.addClient();
    return pinned.token(tokenEvent(redeemForm(c, await pinned.mint(c.clientId, claims))));
  };

  test('accepts that tenant\u2019s ID-JAGs', async () => {
    expect((await redeemPinned({ tenant: 'acme' })).statusCode).toBe(200);
  });

  test.each([
    ['another tenant', { tenant: 'globex' }, /tenant "globex" is not the tenant/],
    ['no tenant', {}, /has no tenant claim/],
    ['a tenant that is not a string', { tenant: ['acme'] }, /is not the tenant/],
  ])('refuses %s', async (_name, claims, says) => {
    const res = await redeemPinned(claims);
    expect(refusalOf(res)).toEqual({ error: 'invalid_grant', reason: 'tenant_mismatch' });
    expect(bodyOf(res).error_description).toMatch(says);
  });

  test('an issuer without a tenant does not read the claim', async () => {
    expect((await redeem(await h.mint(client.clientId, { tenant: 'anything' }))).statusCode).toBe(
      200,
    );
  });
});

describe('7. client_id is the authenticated client (draft §4.4.1)', () => {
  test('an assertion for another client is refused', async () => {
    const other = await h.addClient();
    await expectInvalidGrant(await h.mint(other.clientId), 'client_id_mismatch');
  });
});

describe('9. the client may redeem assertions from this issuer', () => {
  test('a client limited to other issuers is refused', async () => {
    const limited = await h.addClient({ issuers: ['https://other-idp.example'] });
    await expectInvalidGrant(await h.mint(limited.clientId), 'client_issuer_not_allowed', limited);
  });

  test('a client limited to this issuer is accepted', async () => {
    const limited = await h.addClient({ issuers: [h.idp.issuer] });
    expect((await redeem(await h.mint(limited.clientId), limited)).statusCode).toBe(200);
  });

  describe('JAG-CLIENT-ISSUER: a client learns nothing of issuers it may not use', () => {
    // A server that trusts a second issuer, which the client below is not allowed.
    let two: Harness;
    let other: TestIdp;
    beforeAll(async () => {
      other = await TestIdp.start();
      two = await Harness.start({ moreIssuers: [other] });
    });
    afterAll(async () => {
      await two.close();
      await other.stop();
    });

    const redeemAt = (clientId: string, clientSecret: string, assertion: string) =>
      two.token(tokenEvent(redeemForm({ clientId, clientSecret }, assertion)));

    test('it is told what an untrusted issuer is told, before any JWKS is fetched for it', async () => {
      const { clientId, clientSecret } = await two.addClient({ issuers: [two.idp.issuer] });
      const fetchesBefore = other.jwksFetches;
      const assertion = await other.mint(
        { audience: two.config.issuer, clientId, now: two.clock.now() },
        {},
        {},
      );
      const allowed = await redeemAt(clientId, clientSecret, assertion);
      expect(refusalOf(allowed)).toEqual({
        error: 'invalid_grant',
        reason: 'client_issuer_not_allowed',
      });
      expect(bodyOf(allowed).error_description).toBe(`issuer "${other.issuer}" is not trusted`);
      expect(other.jwksFetches).toBe(fetchesBefore);

      const untrusted = await TestIdp.start();
      try {
        const fromStranger = await untrusted.mint({
          audience: two.config.issuer,
          clientId,
          now: two.clock.now(),
        });
        const stranger = await redeemAt(clientId, clientSecret, fromStranger);
        expect(bodyOf(stranger).error_description).toBe(
          `issuer "${untrusted.issuer}" is not trusted`,
        );
      } finally {
        await untrusted.stop();
      }
    });

    test('the log line still tells the operator which rule refused it', async () => {
      const { clientId, clientSecret } = await two.addClient({ issuers: [two.idp.issuer] });
      const assertion = await other.mint({
        audience: two.config.issuer,
        clientId,
        now: two.clock.now(),
      });
      await redeemAt(clientId, clientSecret, assertion);
      expect(two.log.text()).toContain(`may not redeem assertions from ${other.issuer}`);
    });
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
  await expectInvalidGrant(token, 'signature_invalid');
});

describe('odd types, sizes and spellings, across the checks', () => {
  test.each([null, 0, 7, '', ['k']])(
    'a kid of %j is refused (jose would ignore it and try every key)',
    async (kid) => {
      await expectInvalidGrant(await h.mint(client.clientId, {}, { kid }), 'kid_invalid');
    },
  );

  test('an ID-JAG bound by a cnf.jkt that is no thumbprint is refused (DPOP-CNF-OTHER)', async () => {
    await expectInvalidGrant(await h.mint(client.clientId, { cnf: { jkt: 'abc' } }), 'cnf_invalid');
  });

  test.each([
    ['5,000 characters long', 'j'.repeat(5000)],
    ['control characters that grow sixfold when escaped', '\u0001'.repeat(500)],
  ])('a jti %s is redeemed once, then refused: never a database error', async (_name, jti) => {
    const jag = await h.mint(client.clientId, { jti });
    expect((await redeem(jag)).statusCode).toBe(200);
    await expectInvalidGrant(jag, 'jti_replayed');
  });

  test.each([
    ['sub', 's'.repeat(256)],
    ['acr', 'a'.repeat(256)],
  ])(
    'a %s over 255 characters is refused: it would be copied into the access token',
    async (claim, value) => {
      await expectInvalidGrant(
        await h.mint(client.clientId, { [claim]: value }),
        'claim_too_large',
      );
    },
  );

  test('an amr of more than 16 values is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { amr: Array.from({ length: 17 }, (_, i) => `m${i}`) }),
      'claim_too_large',
    );
  });

  test('a client_id no client could be registered with is refused before lookup, and not logged', async () => {
    const id = 'x'.repeat(15_000);
    const res = await h.token(
      tokenEvent(redeemForm({ clientId: id, clientSecret: 's' }, await h.mint(client.clientId))),
    );
    expect(res.statusCode).toBe(401);
    expect(refusalOf(res)).toEqual({ error: 'invalid_client', reason: 'client_id_malformed' });
    expect(h.log.text()).not.toContain('x'.repeat(200));
  });

  test('an untrusted value is echoed cut short, not in full', async () => {
    const res = await redeem(await h.mint(client.clientId, {}, { typ: 'x'.repeat(5000) }));
    expect((bodyOf(res).error_description as string).length).toBeLessThan(300);
  });

  test('iss is compared exactly: another case is not trusted', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { iss: h.idp.issuer.toUpperCase() }),
      'issuer_untrusted',
    );
  });

  test('aud is compared exactly: another case is refused', async () => {
    await expectInvalidGrant(
      await h.mint(client.clientId, { aud: ISSUER.toUpperCase() }),
      'audience_mismatch',
    );
  });

  test('a client limited to an issuer that is a prefix of this one is refused', async () => {
    const limited = await h.addClient({ issuers: [h.idp.issuer.slice(0, -1)] });
    await expectInvalidGrant(await h.mint(limited.clientId), 'client_issuer_not_allowed', limited);
  });

  test.each([
    ['auth_time', 'yesterday'],
    ['acr', 3],
  ])('%s of the wrong type is refused', async (claim, value) => {
    await expectInvalidGrant(await h.mint(client.clientId, { [claim]: value }), 'claim_invalid');
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
