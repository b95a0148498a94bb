/** Client authentication (SPEC §4): the registry says who the client is, the secret store what it knows. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientRecord, ClientRegistry, SecretStore } from '../ports.js';
import { InvalidClient } from './errors.js';
import type { ClientCredentials } from './token-request.js';

export async function authenticateClient(
  credentials: ClientCredentials,
  registry: ClientRegistry,
  secrets: SecretStore,
): Promise<ClientRecord> {
  const basic = credentials.method === 'client_secret_basic';
  const client = await registry.get(credentials.clientId);
  if (!client) throw new InvalidClient('unknown client_id', basic);
  if (!client.enabled) throw new InvalidClient('client is disabled', basic);

  const current = await secrets.getSecret(client.secretRef);
  if (current !== undefined && secretsEqual(current, credentials.clientSecret)) return client;
  // A mismatch may mean the secret was rotated after we cached it: look once more, fresh.
  const fresh = await secrets.getSecret(client.secretRef, { refresh: true });
  if (fresh !== undefined && secretsEqual(fresh, credentials.clientSecret)) return client;
  throw new InvalidClient(fresh === undefined ? 'client has no secret on record' : 'client secret does not match', basic);
}

/** Constant-time: both sides are hashed to equal length first, so neither length nor content leaks. */
export function secretsEqual(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}
