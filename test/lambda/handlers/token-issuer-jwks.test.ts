/** JAG-JWKS-FETCH: an issuer's JWKS that cannot be had is our failure (503), not the client's (invalid_grant). */
import { tokenEvent } from '../../support/events.js';
import { bodyOf, Harness } from '../../support/harness.js';
import type { JwksMode } from '../../support/test-idp.js';
import { expectRefused, redeemForm } from '../../support/token-requests.js';

test.each<[string, JwksMode]>([
  ['answers 500', 'error'],
  ['answers garbage', 'garbage'],
  ['does not answer (timeout)', 'hang'],
])('a JWKS that %s yields 503 temporarily_unavailable and no token', async (_name, mode) => {
  // The timeout also bounds the fetch after recovery: room for a loaded machine.
  const h = await Harness.start({ issuerKeys: { timeoutMs: 1_000, retryAfterFailureMs: 0 } });
  try {
    h.idp.mode = mode;
    const c = await h.addClient();
    const res = await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId))));
    expectRefused(res, 503, 'jwks_unavailable');
    // The description names whose keys are missing, so the operator knows which IdP to look at.
    expect(bodyOf(res).error_description).toMatch(/JWKS of .* cannot be fetched/);
    expect(res.headers['cache-control']).toBe('no-store');
    // Service resumes when the issuer does; the refused assertion was not spent.
    h.idp.mode = 'ok';
    expect((await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId))))).statusCode).toBe(
      200,
    );
  } finally {
    await h.close();
  }
});

test('an unreachable JWKS host (nothing listening) yields 503', async () => {
  const h = await Harness.start({ trusted: { jwks_uri: 'http://127.0.0.1:9/jwks' } });
  try {
    const c = await h.addClient();
    const res = await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId))));
    expectRefused(res, 503, 'jwks_unavailable');
  } finally {
    await h.close();
  }
});

test('once fetched, keys are served from cache while the issuer is down', async () => {
  const h = await Harness.start();
  try {
    const c = await h.addClient();
    expect((await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId))))).statusCode).toBe(
      200,
    );
    h.idp.mode = 'error';
    expect((await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId))))).statusCode).toBe(
      200,
    );
    expect(h.idp.jwksFetches).toBe(1);
  } finally {
    await h.close();
  }
});
