/**
 * Client authentication (AUTH-FAILURE, AUTH-SECRET): the registry says who the client is, the
 * secret store what it knows.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ClientRecord, ClientRegistry, SecretStore } from '../ports.js';
import { AUTHENTICATION_FAILED, InvalidClient, type ReasonFor } from './errors.js';
import type { ClientCredentials } from './token-request.js';

/**
 * Every failure says the same to the client — which client ids exist is nobody's business — and
 * the precise reason code goes to the log and the metric for the operator. It also takes the same
 * work: an unknown or disabled client's secret is compared against a stand-in, as often as a wrong
 * secret is compared, so the time to answer does not tell a registered id from an unknown one.
 */
export async function authenticateClient(
  credentials: ClientCredentials,
  registry: ClientRegistry,
  secrets: SecretStore,
  compare: (expected: string, presented: string) => boolean = secretsEqual,
): Promise<ClientRecord> {
  const fail = (reason: ReasonFor<'invalid_client'>) =>
    new InvalidClient({
      reason,
      description: AUTHENTICATION_FAILED,
      usedBasic: credentials.method === 'client_secret_basic',
    });
  const client = await registry.get(credentials.clientId);
  if (!client || !client.enabled) {
    // The two comparisons a wrong secret costs, against a value nobody can present.
    compare(standIn(credentials.clientSecret), credentials.clientSecret);
    compare(standIn(credentials.clientSecret), credentials.clientSecret);
    throw fail(client ? 'client_disabled' : 'client_unknown');
  }

  const current = await secrets.getSecret(client.secretRef);
  if (current !== undefined && compare(current, credentials.clientSecret)) return client;
  // A mismatch may mean the secret was rotated after we cached it: look once more, fresh (the
  // store bounds how often it honours that).
  const fresh = await secrets.getSecret(client.secretRef, { refresh: true });
  if (fresh !== undefined && compare(fresh, credentials.clientSecret)) return client;
  throw fail(fresh === undefined ? 'secret_not_found' : 'secret_mismatch');
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
