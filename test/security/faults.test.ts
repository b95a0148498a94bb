/**
 * Every dependency failing, throttling, hanging or answering garbage: a 503 temporarily_unavailable
 * (never a token, never a stack trace), and service resumes as soon as the fault clears.
 */
import { tokenEvent } from '../support/events.js';
import { bodyOf, Harness, refusalOf } from '../support/harness.js';
import type { ReasonFor } from '../../lambda/oauth/errors.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';

type Fault = 'error' | 'throttle' | 'hang' | 'garbage';
type Port = 'client registry' | 'secret store' | 'replay guard' | 'signer';

const faults: Record<Port, Fault | undefined> = {
  'client registry': undefined,
  'secret store': undefined,
  'replay guard': undefined,
  signer: undefined,
};

function fail<T>(port: Port, garbage: unknown, real: () => Promise<T>): Promise<T> {
  switch (faults[port]) {
    case 'error':
      return Promise.reject(new Error(`${port} exploded: connection reset`));
    case 'throttle':
      return Promise.reject(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        }),
      );
    case 'hang':
      return new Promise<T>(() => undefined);
    case 'garbage':
      return Promise.resolve(garbage as T);
    default:
      return real();
  }
}

let h: Harness;
let client: { clientId: string; clientSecret: string };
beforeAll(async () => {
  h = await Harness.start({
    // Long enough that a loaded machine cannot turn the healthy request after each fault into a
    // 503; only the four hung dependencies wait it out.
    dependencyTimeoutMs: 1_000,
    registry: (r) => ({
      get: (id) => fail('client registry', { clientId: 7, scopes: 'all' }, () => r.get(id)),
    }),
    secrets: (s) => ({
      getClientSecret: (ref, o) => fail('secret store', 42, () => s.getClientSecret(ref, o)),
    }),
    replay: (g) => ({
      claim: (i, j, e) => fail('replay guard', 'yes', () => g.claim(i, j, e)),
      release: (i, j) => g.release(i, j),
    }),
    signer: (s) => ({
      keyId: () => s.keyId(),
      sign: (input) => fail('signer', 'c2lnbmF0dXJl', () => s.sign(input)),
    }),
  });
  client = await h.addClient();
});
afterAll(() => h.close());

const redeem = async () =>
  h.token(
    tokenEvent({
      grant_type: JWT_BEARER_GRANT,
      assertion: await h.mint(client.clientId),
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  );

const PORTS: Port[] = ['client registry', 'secret store', 'replay guard', 'signer'];
const REASON: Record<Port, ReasonFor<'temporarily_unavailable'>> = {
  'client registry': 'client_registry_unavailable',
  'secret store': 'secret_store_unavailable',
  'replay guard': 'replay_guard_unavailable',
  signer: 'signer_unavailable',
};
const FAULTS: Fault[] = ['error', 'throttle', 'hang', 'garbage'];

test.each(PORTS.flatMap((port) => FAULTS.map((fault) => [port, fault] as const)))(
  'the %s: %s → 503, no token, then service resumes',
  async (port, fault) => {
    faults[port] = fault;
    try {
      const res = await redeem();
      expect(res.statusCode).toBe(503);
      expect(refusalOf(res)).toEqual({ error: 'temporarily_unavailable', reason: REASON[port] });
      expect(bodyOf(res)).toEqual({
        error: 'temporarily_unavailable',
        error_description: expect.stringMatching(/retry later$/),
      });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).not.toMatch(/exploded|Rate exceeded|\n\s+at /);
    } finally {
      faults[port] = undefined;
    }
    expect((await redeem()).statusCode).toBe(200);
  },
);

test('faults are logged as errors with their cause, and the response says only "retry later"', async () => {
  faults['replay guard'] = 'error';
  try {
    await redeem();
  } finally {
    faults['replay guard'] = undefined;
  }
  const line = h.log.lines.filter((l) => l.level === 'error').at(-1);
  expect(line?.extra[0]).toMatchObject({
    error: 'temporarily_unavailable',
    reason: 'replay_guard_unavailable',
    cause: { message: expect.stringMatching(/replay guard exploded/) },
  });
});
