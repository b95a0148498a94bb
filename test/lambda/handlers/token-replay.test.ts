/** JAG-REPLAY: an ID-JAG is redeemed once, atomically, even under concurrency. */
import { tokenEvent } from '../../support/events.js';
import { bodyOf, Harness, refusalOf } from '../../support/harness.js';
import type { Signer } from '../../../lambda/ports.js';
import { ISSUER } from '../../support/harness.js';
import { TestIdp } from '../../support/test-idp.js';
import { expectRefused, redeemForm } from '../../support/token-requests.js';

let h: Harness;
/** Lets a test make the signer fail, as a KMS outage would. */
let signerDown = false;
beforeAll(async () => {
  h = await Harness.start({
    signer: (s: Signer): Signer => ({
      keyId: () => s.keyId(),
      sign: (input) => (signerDown ? Promise.reject(new Error('KMS throttled')) : s.sign(input)),
    }),
  });
});
afterAll(() => h.close());

test('a second redemption is invalid_grant "assertion already used"', async () => {
  const c = await h.addClient();
  const assertion = await h.mint(c.clientId);
  expect((await h.token(tokenEvent(redeemForm(c, assertion)))).statusCode).toBe(200);
  const again = await h.token(tokenEvent(redeemForm(c, assertion)));
  expectRefused(again, 400, 'jti_replayed');
  // JAG-REPLAY names the description too: the client is told in words what happened.
  expect(bodyOf(again)).toEqual({
    error: 'invalid_grant',
    error_description: expect.stringMatching(/already used/),
  });
});

test('20 concurrent redemptions of one ID-JAG yield exactly one token', async () => {
  const c = await h.addClient();
  const assertion = await h.mint(c.clientId);
  const results = await Promise.all(
    Array.from({ length: 20 }, () => h.token(tokenEvent(redeemForm(c, assertion)))),
  );
  const issued = results.filter((r) => r.statusCode === 200);
  expect(issued).toHaveLength(1);
  expect(bodyOf(issued[0]!).access_token).toEqual(expect.any(String));
  for (const r of results.filter((x) => x.statusCode !== 200)) {
    expect(refusalOf(r)).toEqual({ error: 'invalid_grant', reason: 'jti_replayed' });
  }
});

test('the same jti from the same issuer is one assertion, whatever else differs', async () => {
  const c = await h.addClient({ scopes: ['read', 'write'] });
  const first = await h.mint(c.clientId, { jti: 'fixed-jti-1', scope: 'read' });
  const second = await h.mint(c.clientId, { jti: 'fixed-jti-1', scope: 'write' });
  expect((await h.token(tokenEvent(redeemForm(c, first)))).statusCode).toBe(200);
  expect(refusalOf(await h.token(tokenEvent(redeemForm(c, second))))).toEqual({
    error: 'invalid_grant',
    reason: 'jti_replayed',
  });
});

test('a refused request does not spend the assertion', async () => {
  const c = await h.addClient();
  const assertion = await h.mint(c.clientId);
  const refused = await h.token(
    tokenEvent({ ...redeemForm(c, assertion), scope: 'nothing-granted' }),
  );
  expect(refusalOf(refused)).toEqual({ error: 'invalid_scope', reason: 'scope_not_granted' });
  expect((await h.token(tokenEvent(redeemForm(c, assertion)))).statusCode).toBe(200);
});

test('when the signer fails, no token, 503, and the assertion can be redeemed once it recovers', async () => {
  const c = await h.addClient();
  const assertion = await h.mint(c.clientId);
  signerDown = true;
  try {
    const res = await h.token(tokenEvent(redeemForm(c, assertion)));
    expectRefused(res, 503, 'signer_unavailable');
  } finally {
    signerDown = false;
  }
  expect((await h.token(tokenEvent(redeemForm(c, assertion)))).statusCode).toBe(200);
});

test('the record is (iss, jti): the same jti from two issuers is two assertions', async () => {
  const other = await TestIdp.start();
  const two = await Harness.start({ moreIssuers: [other] });
  try {
    const c = await two.addClient();
    const fromFirst = await two.mint(c.clientId, { jti: 'same-jti' });
    const fromSecond = await other.mint(
      { audience: ISSUER, clientId: c.clientId, now: two.clock.now() },
      { jti: 'same-jti' },
    );
    expect((await two.token(tokenEvent(redeemForm(c, fromFirst)))).statusCode).toBe(200);
    expect((await two.token(tokenEvent(redeemForm(c, fromSecond)))).statusCode).toBe(200);
    expect(refusalOf(await two.token(tokenEvent(redeemForm(c, fromSecond))))?.reason).toBe(
      'jti_replayed',
    );
  } finally {
    await two.close();
    await other.stop();
  }
});

test('the record outlives the assertion\u2019s exp by the clock skew, while it can still be redeemed', async () => {
  const c = await h.addClient();
  const t0 = h.clock.now();
  const assertion = await h.mint(c.clientId, { iat: t0 - 10, exp: t0 + 10 });
  try {
    expect((await h.token(tokenEvent(redeemForm(c, assertion)))).statusCode).toBe(200);
    // 55 s past exp: still within the skew, so still acceptable, so its record must still count.
    h.clock.t = t0 + 65;
    const again = await h.token(tokenEvent(redeemForm(c, assertion)));
    expect(refusalOf(again)).toEqual({ error: 'invalid_grant', reason: 'jti_replayed' });
  } finally {
    h.clock.t = t0;
  }
});

test('an issuer configured with allow_reuse accepts the same assertion again', async () => {
  const lenient = await Harness.start({ trusted: { allow_reuse: true } });
  try {
    const c = await lenient.addClient();
    const assertion = await lenient.mint(c.clientId);
    for (let i = 0; i < 3; i++) {
      expect((await lenient.token(tokenEvent(redeemForm(c, assertion)))).statusCode).toBe(200);
    }
  } finally {
    await lenient.close();
  }
});

test('a replay guard that fails is a 503 and no token: it fails closed', async () => {
  const broken = await Harness.start({
    replay: () => ({
      claim: () => Promise.reject(new Error('DynamoDB unavailable')),
      release: () => Promise.resolve(),
    }),
  });
  try {
    const c = await broken.addClient();
    const res = await broken.token(tokenEvent(redeemForm(c, await broken.mint(c.clientId))));
    expectRefused(res, 503, 'replay_guard_unavailable');
    expect(res.body).not.toContain('DynamoDB unavailable');
  } finally {
    await broken.close();
  }
});
