/**
 * What the outside security review found in the protocol layer, each held by a test that failed
 * before the fix: claim values copied into tokens (GRANT-CLAIM-VALUES), and a client learning which
 * issuers we trust from refusals it receives (JAG-CLIENT-ISSUER).
 */
import { decodeJwt } from 'jose';
import { tokenEvent } from '../support/events.js';
import { bodyOf, Harness, refusalOf } from '../support/harness.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/token-request.js';
import { TestIdp } from '../support/test-idp.js';

let h: Harness;
let other: TestIdp;
beforeAll(async () => {
  other = await TestIdp.start();
  h = await Harness.start({ moreIssuers: [other] });
});
afterAll(async () => {
  await h.close();
  await other.stop();
});

async function redeem(clientId: string, clientSecret: string, assertion: string) {
  return h.token(
    tokenEvent({
      grant_type: JWT_BEARER_GRANT,
      assertion,
      client_id: clientId,
      client_secret: clientSecret,
    }),
  );
}

describe('GRANT-CLAIM-VALUES', () => {
  test.each([
    ['sub', { sub: 'alice\n{"admin":true}' }],
    ['sub', { sub: 'alice\u0000bob' }],
    ['sub', { sub: 'alice\u0085' }],
    ['acr', { acr: 'phr\r\n' }],
    ['amr', { amr: ['pwd', 'mfa\u001b[31m'] }],
  ])('a %s with a control character is refused, not copied into a token', async (_n, claims) => {
    const { clientId, clientSecret } = await h.addClient();
    const res = await redeem(clientId, clientSecret, await h.mint(clientId, claims));
    expect(res.statusCode).toBe(400);
    expect(refusalOf(res)).toEqual({ error: 'invalid_grant', reason: 'claim_invalid' });
    expect(bodyOf(res).access_token).toBeUndefined();
  });

  test.each([
    ['an absurd value', 1e300],
    ['a fraction', 1_700_000_000.5],
    ['the future, beyond the skew', 'future'],
    ['zero', 0],
  ])('auth_time of %s is not copied into the token', async (_n, value) => {
    const { clientId, clientSecret } = await h.addClient();
    const authTime = value === 'future' ? h.clock.now() + 3600 : value;
    const res = await redeem(
      clientId,
      clientSecret,
      await h.mint(clientId, { auth_time: authTime }),
    );
    expect(res.statusCode).toBe(200);
    expect(decodeJwt(bodyOf(res).access_token as string).auth_time).toBeUndefined();
  });

  test('a sane auth_time is copied', async () => {
    const { clientId, clientSecret } = await h.addClient();
    const authTime = h.clock.now() - 30;
    const res = await redeem(
      clientId,
      clientSecret,
      await h.mint(clientId, { auth_time: authTime }),
    );
    expect(decodeJwt(bodyOf(res).access_token as string).auth_time).toBe(authTime);
  });
});

describe('JAG-CLIENT-ISSUER: a client learns nothing of issuers it may not use', () => {
  test('it is told what an untrusted issuer is told, before any JWKS is fetched for it', async () => {
    const { clientId, clientSecret } = await h.addClient({ issuers: [h.idp.issuer] });
    const fetchesBefore = other.jwksFetches;
    const assertion = await other.mint(
      { audience: h.config.issuer, clientId, now: h.clock.now() },
      {},
      {},
    );
    const allowed = await redeem(clientId, clientSecret, assertion);
    expect(refusalOf(allowed)).toEqual({
      error: 'invalid_grant',
      reason: 'client_issuer_not_allowed',
    });
    expect(bodyOf(allowed).error_description).toBe(`issuer "${other.issuer}" is not trusted`);
    expect(other.jwksFetches).toBe(fetchesBefore);

    const untrusted = await TestIdp.start();
    try {
      const fromStranger = await untrusted.mint({
        audience: h.config.issuer,
        clientId,
        now: h.clock.now(),
      });
      const stranger = await redeem(clientId, clientSecret, fromStranger);
      expect(bodyOf(stranger).error_description).toBe(
        `issuer "${untrusted.issuer}" is not trusted`,
      );
    } finally {
      await untrusted.stop();
    }
  });

  test('the log line still tells the operator which rule refused it', async () => {
    const { clientId, clientSecret } = await h.addClient({ issuers: [h.idp.issuer] });
    const assertion = await other.mint({ audience: h.config.issuer, clientId, now: h.clock.now() });
    await redeem(clientId, clientSecret, assertion);
    expect(h.log.text()).toContain(`may not redeem assertions from ${other.issuer}`);
  });
});
