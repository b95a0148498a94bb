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
 * the precise reason code goes to the log and the metric for the operator.
 */
export async function authenticateClient(
  credentials: ClientCredentials,
  registry: ClientRegistry,
  secrets: SecretStore,
): Promise<ClientRecord> {
  const fail = (reason: ReasonFor<'invalid_client'>) =>
    new InvalidClient({
      reason,
      description: AUTHENTICATION_FAILED,
      usedBasic: credentials.method === 'client_secret_basic',
    });
  const client = await registry.get(credentials.clientId);
  if (!client) throw fail('client_unknown');
  if (!client.enabled) throw fail('client_disabled');

  const current = await secrets.getSecret(client.secretRef);
  if (current !== undefined && secretsEqual(current, credentials.clientSecret)) return client;
  // A mismatch may mean the secret was rotated after we cached it: look once more, fresh (the
  // store bounds how often it honours that).
  const fresh = await secrets.getSecret(client.secretRef, { refresh: true });
  if (fresh !== undefined && secretsEqual(fresh, credentials.clientSecret)) return client;
  throw fail(fresh === undefined ? 'secret_not_found' : 'secret_mismatch');
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
