/**
 * Client authentication with a shared secret (AUTH-FAILURE, AUTH-SECRET, AUTH-METHOD): the registry
 * says who the client is, the secret store what it knows. private_key_jwt is client-assertion.ts's.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ClientRecord, ClientRegistry, ClientSecret, Clock, SecretStore } from '../ports.js';
import { AUTHENTICATION_FAILED, InvalidClient, type ReasonFor } from './errors.js';
import type { ClientCredentials } from './token-request.js';

/** Comparisons per read of the store: the current secret, and the previous one or a stand-in. */
const PER_READ = 2;

/**
 * Every failure says the same to the client — which client ids exist is nobody's business — and
 * the precise reason code goes to the log and the metric for the operator (AUTH-FAILURE). It also
 * takes the same work (AUTH-SECRET): every read of the store is followed by the same two
 * comparisons whether or not a rotation's grace period is running, and an unknown or disabled
 * client's secret is compared against stand-ins as often as a wrong secret is compared, so the time
 * to answer tells neither a registered id from an unknown one nor a rotating client from another.
 */
export async function authenticateClient(
  credentials: Extract<ClientCredentials, { clientSecret: string }>,
  registry: ClientRegistry,
  secrets: SecretStore,
  /** Judges a previous secret's grace period (AUTH-SECRET). */
  clock: Clock,
  compare: (expected: string, presented: string) => boolean = secretsEqual,
): Promise<ClientRecord> {
  const fail = (reason: ReasonFor<'invalid_client'>) =>
    new InvalidClient({
      reason,
      description: AUTHENTICATION_FAILED,
      usedBasic: credentials.method === 'client_secret_basic',
    });
  const presented = credentials.clientSecret;
  const client = await registry.get(credentials.clientId);
  if (!client || !client.enabled) {
    // The comparisons a wrong secret costs (two reads), against values nobody can present.
    for (let i = 0; i < 2 * PER_READ; i++) compare(standIn(presented), presented);
    throw fail(client ? 'client_disabled' : 'client_unknown');
  }
  if ((client.authMethod ?? 'client_secret') !== 'client_secret') {
    // AUTH-METHOD: a private_key_jwt client has no secret; one presented for it is wrong whatever
    // it is, and is compared as often as a wrong secret is.
    for (let i = 0; i < 2 * PER_READ; i++) compare(standIn(presented), presented);
    throw fail('auth_method_mismatch');
  }

  const stored = await secrets.getClientSecret(client.secretRef);
  if (stored !== undefined && matches(stored, presented, clock.now(), compare)) return client;
  // A mismatch may mean the secret was rotated after we cached it: look once more, fresh (the
  // store bounds how often it honours that).
  const fresh = await secrets.getClientSecret(client.secretRef, { refresh: true });
  if (fresh !== undefined && matches(fresh, presented, clock.now(), compare)) return client;
  throw fail(fresh === undefined ? 'secret_not_found' : 'secret_mismatch');
}

/**
 * The current secret, or the previous one before its grace period ends (AUTH-SECRET: both stay
 * accepted while clients switch). Always both comparisons, with no short cut between them.
 */
function matches(
  stored: ClientSecret,
  presented: string,
  now: number,
  compare: (expected: string, presented: string) => boolean,
): boolean {
  const previous =
    stored.previous !== undefined && now < stored.previous.until
      ? stored.previous.secret
      : standIn(presented);
  const current = compare(stored.current, presented);
  const old = compare(previous, presented);
  return current || old;
}

/** What a store must answer (a malformed answer is the store's failure, not the client's). */
export function isClientSecretOrNone(v: unknown): boolean {
  if (v === undefined) return true;
  const s = v as Partial<ClientSecret> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.current === 'string' &&
    (s.previous === undefined ||
      (typeof s.previous === 'object' &&
        s.previous !== null &&
        typeof s.previous.secret === 'string' &&
        typeof s.previous.until === 'number'))
  );
}

/**
 * A value of the presented secret's length that it cannot equal (one byte differs), so the
 * stand-in comparison does the full constant-time work a same-length wrong secret does.
 */
function standIn(presented: string): string {
  return presented.length === 0
    ? '\u0000'
    : `${presented.slice(0, -1)}${presented.endsWith('\u0000') ? '\u0001' : '\u0000'}`;
}

/**
 * Constant-time in the content. The length may show (a generated secret's length is public
 * anyway: 43 characters); the bytes never do.
 */
export function secretsEqual(expected: string, presented: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(presented, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
