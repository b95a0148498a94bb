/**
 * A 503 "retry later" must leave the ID-JAG redeemable (RESP-ERRORS, JAG-REPLAY). The request's time
 * budget covers the issuer's JWKS; no port call starts once it is spent; and a jti claim that wins
 * after the answer was decided is given back, so the retry is not refused as a replay.
 */
import { tokenEvent } from '../support/events.js';
import { bodyOf, Harness, refusalOf } from '../support/harness.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import type { ReplayGuard } from '../../lambda/ports.js';

/** A promise the test resolves when it chooses. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const form = (clientId: string, clientSecret: string, assertion: string) =>
  tokenEvent({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: clientId,
    client_secret: clientSecret,
  });

test('a jti claim that completes after the deadline is released: the retry gets its token', async () => {
  const hold = gate();
  const released = gate();
  let slow = true;
  const h = await Harness.start({
    dependencyTimeoutMs: 1_000,
    replay: (r): ReplayGuard => ({
      claim: async (...args) => {
        if (slow) await hold.opened;
        return r.claim(...args);
      },
      release: async (...args) => {
        await r.release(...args);
        released.open();
      },
    }),
  });
  try {
    const { clientId, clientSecret } = await h.addClient();
    const assertion = await h.mint(clientId);
    const first = await h.token(form(clientId, clientSecret, assertion));
    expect(first.statusCode).toBe(503);
    expect(refusalOf(first)).toEqual({
      error: 'temporarily_unavailable',
      reason: 'replay_guard_unavailable',
    });
    // The write the deadline gave up on now lands, and wins: it is given back.
    hold.open();
    await released.opened;
    slow = false;
    const retry = await h.token(form(clientId, clientSecret, assertion));
    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry).access_token).toEqual(expect.any(String));
  } finally {
    await h.close();
  }
});

test("an issuer's JWKS slower than the budget is a 503 before the jti is claimed", async () => {
  const hold = gate();
  let claims = 0;
  let gated = true;
  const h = await Harness.start({
    dependencyTimeoutMs: 1_000,
    issuerKeys: {
      timeoutMs: 60_000,
      fetch: async (input, init) => {
        if (gated) await hold.opened;
        return fetch(input, init);
      },
    },
    replay: (r): ReplayGuard => ({
      claim: (...args) => {
        claims++;
        return r.claim(...args);
      },
      release: (...args) => r.release(...args),
    }),
  });
  try {
    const { clientId, clientSecret } = await h.addClient();
    const assertion = await h.mint(clientId);
    const first = await h.token(form(clientId, clientSecret, assertion));
    expect(first.statusCode).toBe(503);
    expect(refusalOf(first)).toEqual({
      error: 'temporarily_unavailable',
      reason: 'jwks_unavailable',
    });
    expect(claims).toBe(0);
    gated = false;
    hold.open();
    const retry = await h.token(form(clientId, clientSecret, assertion));
    expect(retry.statusCode).toBe(200);
  } finally {
    hold.open();
    await h.close();
  }
});

describe('AUTH-SECRET: a presented client id is logged only once the registry knows it', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(() => h.close());

  test('an id and secret swapped: the secret (sent as the id) is not written to the log', async () => {
    const { clientId, clientSecret } = await h.addClient();
    const res = await h.token(form(clientSecret, clientId, await h.mint(clientId)));
    expect(res.statusCode).toBe(401);
    expect(h.log.text()).not.toContain(clientSecret);
  });

  test('a registered client with a wrong secret is logged by its id', async () => {
    const { clientId } = await h.addClient();
    await h.token(form(clientId, 'not-the-secret-at-all', await h.mint(clientId)));
    const line = h.log.lines.find((l) => JSON.stringify(l).includes('secret_mismatch'));
    expect(JSON.stringify(line)).toContain(clientId);
  });
});

describe('AUTH-FAILURE: every invalid_client answer takes at least the floor', () => {
  // A clock the test moves, and a sleep that records what it was asked to wait.
  let nowMs = 0;
  const waits: number[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      authFailureFloorMs: 150,
      timing: {
        nowMs: () => nowMs,
        sleep: async (ms) => void waits.push(ms),
      },
      // A secret store behind the network: a fresh read (after a wrong secret) takes 40 ms.
      secrets: (s) => ({
        ...s,
        getClientSecret: async (ref, options) => {
          if (options?.refresh) nowMs += 40;
          return s.getClientSecret(ref, options);
        },
      }),
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    nowMs = 0;
    waits.length = 0;
  });

  test('a registered client with a wrong secret waits out the rest of the floor', async () => {
    const { clientId } = await h.addClient();
    const res = await h.token(form(clientId, 'not-the-secret-at-all', await h.mint(clientId)));
    expect(res.statusCode).toBe(401);
    expect(waits).toEqual([110]);
  });

  test('an unknown client waits for the whole floor: both answer at 150 ms', async () => {
    const res = await h.token(form('nobody-registered', 'whatever-secret', 'x.y.z'));
    expect(res.statusCode).toBe(401);
    expect(waits).toEqual([150]);
  });

  test('a request that authenticates is never held back', async () => {
    const { clientId, clientSecret } = await h.addClient();
    const res = await h.token(form(clientId, clientSecret, await h.mint(clientId)));
    expect(res.statusCode).toBe(200);
    expect(waits).toEqual([]);
  });
});
