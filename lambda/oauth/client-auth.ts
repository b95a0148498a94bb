/** Client authentication (SPEC §4): the registry says who the client is, the secret store what it knows. */
import { timingSafeEqual } from 'node:crypto';
import type { ClientRecord, ClientRegistry, SecretStore } from '../ports.js';
import { InvalidClient } from './errors.js';
import type { ClientCredentials } from './token-request.js';

/**
 * Every failure says the same to the client — which client ids exist is nobody's business — and
 * the precise reason goes to the log (logDetail) for the operator.
 */
export async function authenticateClient(
  credentials: ClientCredentials,
  registry: ClientRegistry,
  secrets: SecretStore,
): Promise<ClientRecord> {
  const fail = (detail: string) =>
    new InvalidClient(
      'client authentication failed',
      credentials.method === 'client_secret_basic',
      detail,
    );
  const client = await registry.get(credentials.clientId);
  if (!client) throw fail('unknown client_id');
  if (!client.enabled) throw fail('client is disabled');

  const current = await secrets.getSecret(client.secretRef);
  if (current !== undefined && secretsEqual(current, credentials.clientSecret)) return client;
  // A mismatch may mean the secret was rotated after we cached it: look once more, fresh (the
  // store bounds how often it honours that).
  const fresh = await secrets.getSecret(client.secretRef, { refresh: true });
  if (fresh !== undefined && secretsEqual(fresh, credentials.clientSecret)) return client;
  throw fail(
    fresh === undefined ? 'client has no secret on record' : 'client secret does not match',
  );
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
