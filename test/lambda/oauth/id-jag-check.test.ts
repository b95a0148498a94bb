/** checkIdJag: every ID-JAG check (JAG-FORMAT to JAG-CLIENT-ISSUER) reported on its own, without redeeming the assertion. */
import { loadServiceConfig } from '../../../lambda/config.js';
import { checkIdJag, verifyIdJag, type CheckOutcome } from '../../../lambda/oauth/id-jag.js';
import { RemoteIssuerKeys } from '../../../lambda/remote/issuer-keys.js';
import { makeKey, TestIdp } from '../../support/test-idp.js';

const ISSUER = 'https://as.example.test';
let idp: TestIdp;
let ctx: Parameters<typeof checkIdJag>[2];
const now = Math.floor(Date.now() / 1000);

beforeAll(async () => {
  idp = await TestIdp.start();
  const config = loadServiceConfig({ ISSUER, TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]) });
  ctx = {
    issuer: ISSUER,
    trustedIssuers: new Map(config.trustedIssuers.map((t) => [t.issuer, t])),
    clockSkew: 60,
    issuerKeys: new RemoteIssuerKeys(config.trustedIssuers),
    clock: { now: () => now },
  };
});
afterAll(() => idp.stop());

const statuses = (outcomes: CheckOutcome[]) =>
  Object.fromEntries(outcomes.map((o) => [o.id, o.status]));
const mint = (claims: Record<string, unknown> = {}) =>
  idp.mint({ audience: ISSUER, clientId: 'c1', now }, claims);

test('a good assertion passes every check', async () => {
  const outcomes = await checkIdJag(await mint(), { clientId: 'c1' }, ctx);
  expect(outcomes.map((o) => o.status)).toEqual(Array(10).fill('pass'));
});

test('independent failures are each reported: audience, times and client_id at once', async () => {
  const jag = await mint({ aud: `${ISSUER}/`, exp: now - 120, iat: now - 300 });
  const outcomes = await checkIdJag(jag, { clientId: 'someone-else' }, ctx);
  expect(statuses(outcomes)).toEqual({
    format: 'pass',
    issuer: 'pass',
    algorithm: 'pass',
    signature: 'pass',
    claims: 'pass',
    audience: 'fail',
    times: 'fail',
    tenant: 'pass',
    client_id: 'fail',
    client_issuer: 'pass',
  });
  expect(outcomes.flatMap((o) => (o.status === 'fail' ? [[o.id, o.reason]] : []))).toEqual([
    ['audience', 'audience_mismatch'],
    ['times', 'assertion_expired'],
    ['client_id', 'client_id_mismatch'],
  ]);
  // The report is for a person: the description keeps its hint.
  expect(outcomes.find((o) => o.id === 'audience')).toMatchObject({
    description: expect.stringMatching(/trailing slash/),
  });
});

test('a bad signature stops the checks that would trust its claims', async () => {
  const rogue = await makeKey();
  const jag = await idp.mint(
    { audience: ISSUER, clientId: 'c1', now },
    {},
    {},
    { ...rogue, kid: idp.key.kid },
  );
  const outcomes = await checkIdJag(jag, { clientId: 'c1' }, ctx);
  expect(statuses(outcomes)).toMatchObject({
    signature: 'fail',
    claims: 'skipped',
    audience: 'skipped',
    times: 'skipped',
  });
  expect(outcomes.find((o) => o.id === 'signature')).toMatchObject({ reason: 'signature_invalid' });
  expect(outcomes.find((o) => o.id === 'claims')).toMatchObject({
    note: 'needs "signature" to pass',
  });
});

test('without a client, the client checks are skipped, not failed', async () => {
  const outcomes = await checkIdJag(await mint(), undefined, ctx);
  expect(statuses(outcomes)).toMatchObject({
    client_id: 'skipped',
    client_issuer: 'skipped',
    times: 'pass',
  });
});

test('an untrusted issuer fails at "issuer" and says which', async () => {
  const outcomes = await checkIdJag(
    await mint({ iss: 'https://evil.example' }),
    { clientId: 'c1' },
    ctx,
  );
  expect(outcomes.find((o) => o.id === 'issuer')).toMatchObject({
    status: 'fail',
    reason: 'issuer_untrusted',
    description: expect.stringMatching(/evil.example.* not trusted/),
  });
});

test('garbage fails at "format"', async () => {
  const outcomes = await checkIdJag('garbage', { clientId: 'c1' }, ctx);
  expect(outcomes[0]).toMatchObject({ id: 'format', status: 'fail', reason: 'jws_malformed' });
  expect(outcomes.slice(1).every((o) => o.status === 'skipped')).toBe(true);
});

test('verifyIdJag refuses with the reason of the first check that checkIdJag reports failed', async () => {
  const cases = [
    'garbage',
    await mint({ iss: 'https://evil.example' }),
    await mint({ aud: 'https://other.example' }),
    await mint({ exp: now - 120, iat: now - 300 }),
    await mint({ client_id: 'someone-else' }),
    await mint({ sub: undefined }),
  ];
  for (const jag of cases) {
    const report = await checkIdJag(jag, { clientId: 'c1' }, ctx);
    const failed = report.flatMap((o) => (o.status === 'fail' ? [o.reason] : []));
    expect(failed.length).toBeGreaterThan(0);
    const refusal = await verifyIdJag(jag, { clientId: 'c1' }, ctx).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ error: 'invalid_grant', reason: failed[0] });
  }
});
